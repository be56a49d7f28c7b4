import 'uplot/dist/uPlot.min.css';
import './base.css';
import './endpoints.css';
import './access.css';
import './run-page.css';
import './sweep-compare.css';
import './navigator.css';
import './runsTable.css';
