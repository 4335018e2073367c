/** What every config test checks of a refusal: a ConfigError, one line per wrong setting, each led by what it blames. */
import { expect } from 'vitest';
import { ConfigError } from '@hotpath/config';

/**
 * The ConfigError `load` throws, or undefined when it returns. Fails the test on any other
 * exception, and on a message that is not "invalid … configuration:" and then one line per issue,
 * each starting with the issue's variable (and place inside it), or its message when it blames none.
 */
export function configRefusal(load: () => unknown): ConfigError | undefined {
  try {
    load();
    return undefined;
  } catch (err) {
    expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    const [head, ...lines] = e.message.split('\n');
    expect(head).toBe(`invalid ${e.subject} configuration:`);
    expect(lines).toEqual(e.issues.map((i) => (i.variable === undefined ? `  ${i.message}` : `  ${i.variable}${i.at}: ${i.message}`)));
    expect(e.variables).toEqual([...new Set(e.issues.flatMap((i) => (i.variable === undefined ? [] : [i.variable])))]);
    return e;
  }
}
