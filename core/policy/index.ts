// Public API of the policy engine (DESIGN.md "Policy model"; wire format in helper/linux/WIRE.md §1).
export {
  loadPolicy,
  checkPolicyFiles,
  formatIssue,
  policySettings,
  PolicyError,
  type PolicyIssue,
} from './load.js';
export {
  evaluate,
  compileRules,
  holdParams,
  isWithin,
  type Decision,
  type PolicyEvent,
  type CompiledRule,
} from './evaluate.js';
export {
  compileTable,
  deriveWall,
  ruleParams,
  ruleSummary,
  type TableHeader,
  type RuleSummaryRow,
} from './compile.js';
export {
  expandGlob,
  expandTree,
  compileArgv,
  globEscape,
  GlobError,
  ARGV_SEP,
  type PolicyVars,
  type ExpandedGlob,
  type ArgvPattern,
} from './glob.js';
export { recursiveDeleteTargets, resolveTarget } from './rmtree.js';
export {
  OPS,
  WRITE_OPS,
  DECISIONS,
  FALLBACKS,
  STRICTNESS,
  DEFAULT_SETTINGS,
  parseDuration,
  type Op,
  type DecisionKind,
  type Fallback,
  type PolicySettings,
  type Policy,
  type PolicyRule,
} from './schema.js';
