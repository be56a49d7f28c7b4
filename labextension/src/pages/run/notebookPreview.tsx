/**
 * An executed notebook, read-only: each cell's source, and of its outputs only streams,
 * `text/plain`, errors and PNG/JPEG/GIF images.  HTML, JavaScript, SVG and widget outputs are
 * never rendered (a note says they were left out): nothing in the notebook runs.
 */

import * as React from 'react';

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif'];
/** Terminal colour codes in tracebacks. */
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

type MultiLine = string | string[];

interface IOutput {
  output_type: string;
  name?: string;
  text?: MultiLine;
  data?: Record<string, MultiLine>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

interface ICellJson {
  cell_type: string;
  source: MultiLine;
  execution_count?: number | null;
  outputs?: IOutput[];
}

function joined(text: MultiLine | undefined): string {
  return Array.isArray(text) ? text.join('') : text ?? '';
}

function Output(props: { output: IOutput }): JSX.Element {
  const { output } = props;
  if (output.output_type === 'stream') {
    return <pre className={`mlws-NbStream mlws-NbStream-${output.name}`}>{joined(output.text)}</pre>;
  }
  if (output.output_type === 'error') {
    const trace = (output.traceback ?? []).join('\n').replace(ANSI, '');
    return <pre className="mlws-NbError">{trace || `${output.ename}: ${output.evalue}`}</pre>;
  }
  const data = output.data ?? {};
  const image = IMAGE_TYPES.find(type => joined(data[type]) !== '');
  if (image) {
    const base64 = joined(data[image]).replace(/\s/g, '');
    return <img className="mlws-NbImage" src={`data:${image};base64,${base64}`} alt="cell output" />;
  }
  if (data['text/plain'] !== undefined) {
    return <pre className="mlws-NbText">{joined(data['text/plain'])}</pre>;
  }
  const left = Object.keys(data).join(', ');
  return <div className="mlws-Muted mlws-NbLeftOut">output not shown here ({left || output.output_type})</div>;
}

export function NotebookPreview(props: { text: string }): JSX.Element {
  const cells = React.useMemo<ICellJson[] | null>(() => {
    try {
      const cells = JSON.parse(props.text).cells;
      return Array.isArray(cells) ? cells : null;
    } catch {
      return null;
    }
  }, [props.text]);
  if (cells === null) {
    return <div className="mlws-Error">not a notebook this page can read</div>;
  }
  return (
    <div className="mlws-Notebook">
      {cells.map((cell, i) => (
        <div key={i} className={`mlws-NbCell mlws-NbCell-${cell.cell_type}`}>
          <div className="mlws-NbPrompt">{cell.cell_type === 'code' ? `[${cell.execution_count ?? ' '}]` : ''}</div>
          <div className="mlws-NbBody">
            <pre className="mlws-NbSource">{joined(cell.source)}</pre>
            {(cell.outputs ?? []).map((output, j) => (
              <Output key={j} output={output} />
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}
