// Vitest setup for the UI tests: unmount after each test and reset every store to its initial state.
import { afterEach, beforeEach } from 'vitest';
import { cleanup } from '@testing-library/react';
import { forgetResolved, useHolds } from '../../renderer/stores/holds';
import { useRuns } from '../../renderer/stores/runs';
import { useRestore } from '../../renderer/stores/restore';
import { usePolicies } from '../../renderer/stores/policies';
import { useConnection } from '../../renderer/stores/connection';
import { useNav } from '../../renderer/stores/nav';
import { useSettings } from '../../renderer/stores/settings';
import { setTransport } from '../../renderer/stores/api';

const stores = [useHolds, useRuns, useRestore, usePolicies, useConnection, useNav, useSettings] as const;

beforeEach(() => {
  for (const s of stores)
    (s as { setState(v: unknown, replace: true): void }).setState(s.getInitialState(), true);
  setTransport(null);
  forgetResolved();
  localStorage.clear();
});

afterEach(() => {
  cleanup();
});
