// Public API of the policy engine (DESIGN.md "Policy model"; wire format in helper/linux/WIRE.md §1).
export { loadPolicy, checkPolicyFiles, formatIssue, PolicyError, type PolicyIssue } from './load.js';
export {
  evaluate,
  compileRules,
  isWithin,
  type Decision,
  type PolicyEvent,
  type CompiledRule,
} from './evaluate.js';
export { compileTable, deriveWall, ruleSummary, type TableHeader, type RuleSummaryRow } from './compile.js';
export { expandGlob, expandTree, globEscape, GlobError, type PolicyVars, type ExpandedGlob } from './glob.js';
export { recursiveDeleteTargets, resolveTarget } from './rmtree.js';
export {
  OPS,
  WRITE_OPS,
  DECISIONS,
  STRICTNESS,
  type Op,
  type DecisionKind,
  type Policy,
  type PolicyRule,
} from './schema.js';
