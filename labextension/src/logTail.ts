/**
 * A live log as a view keeps it: the text shown so far and the byte size of the log it ends at.
 *
 * The server answers `logs?since_bytes=N` or `logs?tail_bytes=N` with each log's `size` (bytes),
 * the `offset` its `text` starts at and the text.  Replies can overlap or arrive out of order
 * (a live tail and a full refresh fetched at the same moment): they are merged by byte offsets,
 * so the text only ever grows and keeps its first lines.  (The old rule, "an offset other than
 * the known size means the log was replaced", threw the shown text away whenever a refresh had
 * advanced it first: a running run's tail showed only the last second's lines.)
 */

import { ILogPart } from './tokens';

/** What a view shows of one log: `text` ends at byte `size` of the log. */
export interface IShownLog {
  size: number;
  text: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `text` from its byte `start` on (the bytes a merge already has are dropped). */
function fromByte(text: string, start: number): string {
  return start <= 0 ? text : decoder.decode(encoder.encode(text).slice(start));
}

/**
 * `known` continued by the server's reply `part`; at most the last `keep` characters.
 *
 * A reply that ends where (or before) the shown text ends adds nothing (a late reply);
 * one overlapping it adds only its bytes past the known size; one that starts past it (bytes
 * never fetched) says how many bytes are not shown between them.
 */
export function mergeLogPart(known: IShownLog | undefined, part: ILogPart, keep: number): IShownLog {
  if (!known) {
    return { size: part.size, text: part.text.slice(-keep) };
  }
  if (part.size <= known.size) {
    return known;
  }
  let added: string;
  if (part.offset <= known.size) {
    added = fromByte(part.text, known.size - part.offset);
  } else {
    added = `${known.text && !known.text.endsWith('\n') ? '\n' : ''}[… ${part.offset - known.size} bytes not shown …]\n${part.text}`;
  }
  const text = known.text + added;
  return { size: part.size, text: text.length > keep ? text.slice(-keep) : text };
}
