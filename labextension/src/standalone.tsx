/**
 * The workspace's own web page (`{base_url}mlws/`, the page `mlws server` opens): the same
 * navigator and the same main-area pages as in JupyterLab (tabs of a dock panel beside the
 * navigator), following the same live events.  No notebook editor here: a team server shares
 * the workspace, not the machine.
 */

import { EventManager, ServerConnection } from '@jupyterlab/services';
import { BoxPanel, DockPanel, Widget } from '@lumino/widgets';

import '@jupyterlab/theme-light-extension/style/variables.css';
import '@jupyterlab/apputils/style/index.css';
import '@lumino/widgets/style/index.css';
import '../style/index.js';
import '../style/standalone.css';

import { NavigatorModel } from './navigatorModel';
import { DockPageHost } from './pages/host';
import { IPageContext } from './pages/page';
import { Sidebar } from './sidebar';

function main(): void {
  const events = new EventManager({ serverSettings: ServerConnection.makeSettings() });
  const dock = new DockPanel({ spacing: 4 });
  dock.id = 'mlws-dock';
  const context: IPageContext = {
    open: request => host.open(request),
    openNotebook: () => undefined, // no notebooks on a team server
    events: events.stream,
    rendermime: null
  };
  const host = new DockPageHost(dock, () => context);
  const navigator = new NavigatorModel();
  const sidebar = new Sidebar(navigator, context.open);
  sidebar.addClass('mlws-mod-page');

  const page = new BoxPanel({ direction: 'left-to-right', spacing: 0 });
  page.id = 'mlws-page';
  BoxPanel.setStretch(sidebar, 0);
  BoxPanel.setSizeBasis(sidebar, 300);
  BoxPanel.setStretch(dock, 1);
  page.addWidget(sidebar);
  page.addWidget(dock);
  Widget.attach(page, document.body);
  window.addEventListener('resize', () => page.update());

  void navigator.refresh();
  events.stream.connect((_, event) => navigator.onServerEvent(event));
  host.open({ kind: 'runs' });
  // `?run=ID` (the link a schedule's webhook posts) opens that run's page beside the table
  const run = new URLSearchParams(window.location.search).get('run');
  if (run) {
    host.open({ kind: 'run', id: run });
  }
}

main();
