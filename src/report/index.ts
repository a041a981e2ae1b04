/**
 * switchyard report: renderings of an Analysis (terminal, JSON, Markdown, self-contained
 * HTML). Imports analysis types only; the caller writes the text where it wants.
 */
export { renderTerminal } from './terminal.js';
export { terminalSafe } from './format.js';
export { renderJson } from './json.js';
export { renderMarkdown } from './markdown.js';
export { renderHtml, escapeHtml } from './html.js';
