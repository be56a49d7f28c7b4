/**
 * The workspace's own web page (`{base_url}mlws/`, the page `mlws server` opens): the same
 * sidebar views and models as in JupyterLab, on a page of their own, following the same live
 * events.  No notebook editor here: a team server shares the workspace, not the machine.
 */

import { EventManager, ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import '@jupyterlab/theme-light-extension/style/variables.css';
import '@jupyterlab/apputils/style/index.css';
import '../style/index.js';
import '../style/standalone.css';

import { SidebarModel } from './model';
import { Sidebar } from './sidebar';

function main(): void {
  const model = new SidebarModel();
  const page = new Sidebar(model);
  page.addClass('mlws-mod-page');
  Widget.attach(page, document.body);
  window.addEventListener('resize', () => page.update());
  void model.refresh();

  const events = new EventManager({ serverSettings: ServerConnection.makeSettings() });
  events.stream.connect((_, event) => model.onServerEvent(event));
}

main();
