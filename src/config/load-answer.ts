/** A config load as data (the child of load-isolated.ts answers with it; so does the in-process path). */
import { StreamgateAggregateError, StreamgateError, errorMessage } from "../errors.js";
import type { LoadAnswer, LoadRequest } from "./load-isolated.js";
import { configFromObject, loadConfigFile } from "./loader.js";
import { withoutSource } from "./frozen.js";

/** loadConfigFile, then the overrides validated on top, with any error turned into data. */
export async function answerLoad(req: LoadRequest): Promise<LoadAnswer> {
  try {
    let config = await loadConfigFile(req.path);
    if (req.overrides)
      config = configFromObject(
        { ...withoutSource(config), ...req.overrides },
        { env: {}, source: req.path },
      );
    return { ok: true, config: withoutSource(config), source: config.source ?? req.path };
  } catch (err) {
    if (err instanceof StreamgateAggregateError)
      return { ok: false, code: err.code, summary: err.message.split("\n")[0]!, problems: [...err.problems] };
    return {
      ok: false,
      code: err instanceof StreamgateError ? err.code : undefined,
      summary: errorMessage(err),
    };
  }
}
