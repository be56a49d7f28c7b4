import 'uplot/dist/uPlot.min.css';
import './base.css';
import './endpoints.css';
import './access.css';
import './modelPages.css';
