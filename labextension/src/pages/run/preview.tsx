/**
 * Previews of a run's files, rendered as text by React (every character escaped): nothing a
 * file contains runs as script in Jupyter's origin.  Images (PNG/JPEG/GIF/WebP, which the
 * server alone serves inline) show as images; CSV/TSV as a table of the first rows; JSON pretty
 * and highlighted; code and text highlighted lightly; HTML and SVG as their source; an executed
 * notebook read-only (sources, text and image outputs, never its HTML or JavaScript).
 */

import * as React from 'react';

import { formatSize } from './format';
import { PREVIEW_MAX_BYTES, requestText, useFetch } from './fetch';
import { NotebookPreview } from './notebookPreview';
import { Problem } from './notes';
import { SortableTable } from './table';

/** CSV/TSV rows a preview shows. */
const CSV_ROWS = 100;
const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp'];
const CODE_EXTENSIONS = ['py', 'r', 'sh', 'js', 'ts', 'yaml', 'yml', 'toml', 'cfg', 'ini', 'sql', 'txt', 'log', 'md'];
/** Markup shown as its source, never rendered. */
const MARKUP_EXTENSIONS = ['html', 'htm', 'svg', 'xml', 'xhtml'];

export type PreviewKind = 'image' | 'csv' | 'json' | 'notebook' | 'markup' | 'text';

export function previewKind(path: string): PreviewKind {
  const ext = path.split('.').pop()?.toLowerCase() ?? '';
  if (IMAGE_EXTENSIONS.includes(ext)) {
    return 'image';
  }
  if (ext === 'csv' || ext === 'tsv') {
    return 'csv';
  }
  if (ext === 'json') {
    return 'json';
  }
  if (ext === 'ipynb') {
    return 'notebook';
  }
  return MARKUP_EXTENSIONS.includes(ext) ? 'markup' : 'text';
}

/** The first `limit` records of CSV text (quoted fields, doubled quotes, newlines in quotes). */
export function parseCsv(text: string, delimiter: string, limit: number): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < limit; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      rows.push([...row, field]);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if ((field !== '' || row.length > 0) && rows.length < limit) {
    rows.push([...row, field]);
  }
  return rows;
}

function CsvPreview(props: { text: string; path: string }): JSX.Element {
  const delimiter = props.path.toLowerCase().endsWith('.tsv') ? '\t' : ',';
  const rows = React.useMemo(() => parseCsv(props.text, delimiter, CSV_ROWS + 1), [props.text]);
  if (rows.length === 0) {
    return <div className="mlws-Empty">empty</div>;
  }
  const [header, ...body] = rows;
  return (
    <>
      <SortableTable header={header} rows={body} className="mlws-CsvTable" />
      <div className="mlws-Muted">
        {body.length === CSV_ROWS ? `the first ${CSV_ROWS} rows` : `${body.length} rows`}
      </div>
    </>
  );
}

/** A token's class: JSON keys, strings, numbers, literals; comments in code. */
const TOKENS =
  /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')(\s*:)?|(#[^\n]*|\/\/[^\n]*)|\b(true|false|null|True|False|None|def|class|import|from|return|if|else|for|while|in)\b|(-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)/g;

/** `text` as React nodes with highlighted tokens (text nodes only: nothing is parsed as HTML). */
export function highlight(text: string): React.ReactNode[] {
  const nodes: React.ReactNode[] = [];
  let last = 0;
  let match: RegExpExecArray | null;
  TOKENS.lastIndex = 0;
  while ((match = TOKENS.exec(text)) !== null) {
    if (match.index > last) {
      nodes.push(text.slice(last, match.index));
    }
    const [all, string, colon, comment, word, number] = match;
    const kind = string ? (colon ? 'key' : 'string') : comment ? 'comment' : word ? 'keyword' : number ? 'number' : '';
    nodes.push(
      <span key={match.index} className={`mlws-tok-${kind}`}>
        {string ?? all}
      </span>
    );
    if (string && colon) {
      nodes.push(colon);
    }
    last = match.index + all.length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

function CodeText(props: { text: string; className?: string; plain?: boolean }): JSX.Element {
  const nodes = React.useMemo(() => (props.plain ? [props.text] : highlight(props.text)), [props.text, props.plain]);
  return <pre className={`mlws-CodeText ${props.className ?? ''}`}>{nodes}</pre>;
}

function JsonPreview(props: { text: string }): JSX.Element {
  const pretty = React.useMemo(() => {
    try {
      return JSON.stringify(JSON.parse(props.text), null, 2);
    } catch {
      return null;
    }
  }, [props.text]);
  return pretty === null ? (
    <>
      <div className="mlws-Muted">not valid JSON: shown as it is</div>
      <CodeText text={props.text} plain />
    </>
  ) : (
    <CodeText text={pretty} className="mlws-JsonText" />
  );
}

function TextPreview(props: { text: string; path: string }): JSX.Element {
  if (props.text.includes('\u0000')) {
    return <div className="mlws-Empty">a binary file: download it to open it</div>;
  }
  const ext = props.path.split('.').pop()?.toLowerCase() ?? '';
  return <CodeText text={props.text} plain={!CODE_EXTENSIONS.includes(ext) || ext === 'txt' || ext === 'log'} />;
}

/**
 * The preview of one file at `path` (API path `url`, relative to `mlws/api/`; `href` is the
 * absolute URL of the same bytes, for images).
 */
export function FilePreview(props: { path: string; size?: number; url: string; href: string }): JSX.Element {
  const kind = previewKind(props.path);
  const tooLarge = typeof props.size === 'number' && props.size > PREVIEW_MAX_BYTES;
  const fetched = useFetch(
    () => (kind === 'image' || tooLarge ? Promise.resolve('') : requestText(props.url)),
    [props.url, kind, tooLarge]
  );
  if (kind === 'image') {
    return <img className="mlws-ImagePreview" src={props.href} alt={props.path} />;
  }
  if (tooLarge) {
    return <div className="mlws-Empty">Too large to preview ({formatSize(props.size)}): download it.</div>;
  }
  if (fetched.error) {
    return <Problem error={fetched.error} />;
  }
  const text = fetched.value;
  if (text === undefined || fetched.loading) {
    return <div className="mlws-Muted">loading…</div>;
  }
  switch (kind) {
    case 'csv':
      return <CsvPreview text={text} path={props.path} />;
    case 'json':
      return <JsonPreview text={text} />;
    case 'notebook':
      return <NotebookPreview text={text} />;
    case 'markup':
      return (
        <>
          <div className="mlws-Muted">Shown as its source: markup from a run is never rendered here.</div>
          <CodeText text={text} plain className="mlws-MarkupText" />
        </>
      );
    default:
      return <TextPreview text={text} path={props.path} />;
  }
}
