import { describe, expect, it } from 'vitest';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { Restore } from '../../renderer/views/Restore';
import { Policies } from '../../renderer/views/Policies';
import { Settings } from '../../renderer/views/Settings';
import { flush, installFake } from './fake';

async function settle() {
  await act(async () => {
    await flush();
    await flush();
  });
}

const plan = {
  run: 3,
  createdAt: 0,
  untilSeq: 0,
  paths: null,
  steps: [
    { seq: 9, action: 'remove', path: '/ws/new.txt', note: 'move aside (created by the run)' },
    { seq: 4, action: 'restore', path: '/ws/a.txt', sha: 'aa', note: 'restore file (delete)' },
    {
      seq: 2,
      action: 'restore',
      path: '/ws/b.txt',
      sha: 'bb',
      note: 'restore file (write)',
      conflict: 'changed after the run',
    },
  ],
  irreversible: [
    { seq: 5, action: 'irreversible', path: '/ws/huge.bin', note: 'delete: file above pre-image limit' },
  ],
  conflicts: [{ path: '/ws/b.txt', reason: 'changed after the run', seqs: [2] }],
};

describe('Restore', () => {
  it('plan → apply (force) → result → undo', async () => {
    const t = installFake()
      .on('runs.list', () => [
        {
          id: 3,
          startedAt: 0,
          endedAt: 1,
          argv: ['aider'],
          cwd: '/ws',
          workspace: '/ws',
          status: 'ended',
          exitCode: 0,
          signal: null,
          summary: null,
        },
      ])
      .on('rollback.plan', () => plan)
      .on('rollback.apply', () => ({
        rollbackId: 21,
        applied: 3,
        skipped: 0,
        movedAside: [{ path: '/ws/new.txt', aside: '/state/rollbacks/21/aside/new.txt', seq: 9 }],
        errors: [],
        conflicts: [],
      }))
      .on('rollback.undo', () => ({
        rollbackId: 22,
        applied: 3,
        skipped: 0,
        movedAside: [],
        errors: [],
        conflicts: [],
        undoOf: 21,
      }));
    render(<Restore />);
    await settle();
    fireEvent.change(screen.getByTestId('restore-run-select'), { target: { value: '3' } });
    await settle();
    expect(t.callsOf('rollback.plan')).toEqual([{ run: 3, paths: [], all: false }]);
    const planEl = screen.getByTestId('restore-plan');
    const steps = within(planEl).getAllByTestId('restore-step');
    expect(steps).toHaveLength(3);
    expect(steps[0]!.textContent).toContain('remove');
    expect(steps[0]!.textContent).toContain('/ws/new.txt');
    expect(steps[2]!.textContent).toMatch(/conflict, skipped/);
    expect(screen.getByTestId('restore-conflict').textContent).toContain('changed after the run');
    expect(screen.getByTestId('restore-irreversible').textContent).toContain('/ws/huge.bin');
    expect(screen.getByTestId('restore-apply').textContent).toContain('2 steps');
    fireEvent.click(screen.getByTestId('restore-force'));
    expect(screen.getByTestId('restore-apply').textContent).toContain('3 steps');
    fireEvent.click(screen.getByTestId('restore-apply'));
    await settle();
    expect(t.callsOf('rollback.apply')).toEqual([{ run: 3, paths: [], all: false, force: true }]);
    const result = screen.getByTestId('restore-result');
    expect(result.textContent).toMatch(/3\s*applied/);
    expect(result.textContent).toMatch(/0\s*skipped/);
    expect(result.textContent).toMatch(/1\s*moved aside/);
    fireEvent.click(screen.getByTestId('restore-undo'));
    await settle();
    expect(t.callsOf('rollback.undo')).toEqual([{ rollback: 21 }]);
    expect(screen.getByTestId('restore-undo-result')).toBeTruthy();
    expect(screen.queryByTestId('restore-undo')).toBeNull();
  });

  it('shows a daemon error', async () => {
    installFake()
      .on('runs.list', () => [])
      .on('rollback.plan', () => {
        throw new Error('no run with id 99');
      });
    render(<Restore />);
    await settle();
    fireEvent.change(screen.getByTestId('restore-run-select'), { target: { value: '' } });
    await act(async () => {
      const { useRestore } = await import('../../renderer/stores/restore');
      await useRestore.getState().pick(99);
    });
    expect(screen.getByRole('alert').textContent).toContain('no run with id 99');
  });
});

describe('Policies and Settings', () => {
  it('lists the rules from policy.show', async () => {
    installFake().on('policy.show', () => [
      { id: 'deny-ssh', band: '00-hard-deny', decision: 'deny', ops: ['*'], patterns: ['~/.ssh/**'] },
      {
        id: 'ask-reset',
        band: '35-commands',
        decision: 'ask',
        ops: ['exec'],
        patterns: ['argv:git reset --hard'],
      },
    ]);
    render(<Policies />);
    await settle();
    const rows = screen.getAllByTestId('policy-rule');
    expect(rows).toHaveLength(2);
    expect(rows[1]!.textContent).toContain('35-commands');
    expect(rows[1]!.textContent).toContain('argv:git reset --hard');
  });

  it('shows the daemon status and keeps the notification toggle', async () => {
    installFake().on('status', () => ({
      pid: 4321,
      state: '/home/u/.local/state/warden',
      runsInProgress: [8],
      helper: '/x/warden-supervise',
      lastRun: null,
    }));
    render(<Settings />);
    await settle();
    expect(screen.getByTestId('daemon-status').textContent).toContain('pid 4321');
    expect(screen.getByTestId('daemon-status').textContent).toContain('/home/u/.local/state/warden');
    const box = screen.getByLabelText(/Notify me/) as HTMLInputElement;
    expect(box.checked).toBe(false);
    fireEvent.click(box);
    expect(localStorage.getItem('warden.notifications')).toBe('on');
    expect(box.checked).toBe(true);
  });
});
