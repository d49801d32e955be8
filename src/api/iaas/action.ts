import type { Caller } from '../../domain/caller.js';
import type { Services } from '../../services/index.js';
import type { IaasParams } from './params.js';

export interface ActionContext {
  caller: Caller;
  params: IaasParams;
  s: Services;
}

/** One QingCloud action: parameters in, the answer's fields out (the endpoint adds `action` and `ret_code`). */
export type Action = (ctx: ActionContext) => Promise<Record<string, unknown>>;
