/**
 * Emits everything for one message, in the order the generated module
 * declares it: validators, skippers, decoders, encoders. The decoder
 * validates the whole frame in wrap(), so its field getters are plain reads
 * with no checks on the hot path.
 */
import type { Message, Schema } from './ir.ts';
import type { CodeWriter } from './writer.ts';
import { allContexts, messageContext } from './block-context.ts';
import { emitGroupValidator, emitMessageValidator } from './emit-validator.ts';
import { emitGroupDecoder, emitGroupSkipper, emitMessageDecoder } from './emit-decoder.ts';
import { emitGroupEncoder, emitMessageEncoder } from './emit-encoder.ts';

export function emitMessage(w: CodeWriter, m: Message, schema: Schema, headerSize: number): void {
  const root = messageContext(m);
  const contexts = allContexts(root);
  const groups = contexts.filter((c) => !c.isMessage);
  emitMessageValidator(w, root);
  for (const c of groups) emitGroupValidator(w, c, root.decoder);
  // skip_* positions the nested groups within an entry of a non-flat group, so only groups inside groups need one.
  for (const c of groups) if (!c.parent!.isMessage) emitGroupSkipper(w, c);
  emitMessageDecoder(w, root, schema, headerSize);
  for (const c of groups) emitGroupDecoder(w, c, schema);
  emitMessageEncoder(w, root, schema, headerSize);
  for (const c of groups) emitGroupEncoder(w, c);
}

/** The generated class names of a message, for the schema's index and dispatcher. */
export function messageClassNames(m: Message): { decoder: string; encoder: string; groups: { decoder: string; encoder: string }[] } {
  const root = messageContext(m);
  return {
    decoder: root.decoder,
    encoder: root.encoder,
    groups: allContexts(root)
      .filter((c) => !c.isMessage)
      .map((c) => ({ decoder: c.decoder, encoder: c.encoder })),
  };
}
