/** What the SecLang parser produces: directives as written, with where they came from. Nothing compiled yet. */

export interface Source {
  readonly file: string;
  readonly line: number;
}

export interface VariableSpec {
  /** Upper-cased collection or variable name, e.g. `ARGS`, `REQUEST_HEADERS`, `TX`. */
  readonly name: string;
  /** Selector after the colon, as written; absent for the whole collection. */
  readonly key?: string;
  /** The selector was `/regex/`. */
  readonly keyIsRegex: boolean;
  /** `!VAR:key`: take these values out of the rule's targets. */
  readonly exclude: boolean;
  /** `&VAR`: the rule sees the number of values instead of the values. */
  readonly count: boolean;
}

export interface OperatorSpec {
  /** Lower-cased operator name without `@`; `rx` when the rule names none. */
  readonly name: string;
  readonly negated: boolean;
  readonly argument: string;
}

export interface ActionSpec {
  /** Lower-cased action name. */
  readonly name: string;
  readonly value?: string;
}

export type Directive =
  | {
      readonly kind: 'rule';
      readonly source: Source;
      readonly variables: readonly VariableSpec[];
      readonly operator: OperatorSpec;
      readonly actions: readonly ActionSpec[];
    }
  | { readonly kind: 'action'; readonly source: Source; readonly actions: readonly ActionSpec[] }
  | { readonly kind: 'marker'; readonly source: Source; readonly name: string }
  | { readonly kind: 'default-action'; readonly source: Source; readonly actions: readonly ActionSpec[] }
  | { readonly kind: 'setting'; readonly source: Source; readonly name: string; readonly args: readonly string[] }
  | {
      readonly kind: 'remove';
      readonly source: Source;
      readonly by: 'id' | 'tag' | 'msg';
      readonly args: readonly string[];
    }
  | {
      readonly kind: 'update-target';
      readonly source: Source;
      readonly by: 'id' | 'tag' | 'msg';
      readonly selector: string;
      readonly variables: readonly VariableSpec[];
    }
  | {
      readonly kind: 'update-action';
      readonly source: Source;
      readonly id: string;
      readonly actions: readonly ActionSpec[];
    };

export interface SecLangProblem {
  readonly file: string;
  readonly line: number;
  /** The directive name as written, e.g. `SecRule`. */
  readonly directive: string;
  readonly message: string;
}

export function formatProblem(p: SecLangProblem): string {
  return `${p.file}:${p.line}: ${p.directive}: ${p.message}`;
}
