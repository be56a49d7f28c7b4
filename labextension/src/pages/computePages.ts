/**
 * The Compute and Secrets pages as one lazily loaded module (a chunk of their own, with their
 * stylesheet): JupyterLab's start pays for neither.
 */

import '../../style/computePages.css';

export { createComputePage } from './computePage';
export { createSecretsPage } from './secretsPage';
