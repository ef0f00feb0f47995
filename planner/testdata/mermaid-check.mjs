// Parses Mermaid charts with the real Mermaid parser, for the summary tests.
// Run as `node --input-type=module -e "$(cat mermaid-check.mjs)"` from a
// directory whose node_modules holds mermaid and jsdom (Mermaid sanitises
// labels with DOMPurify, which needs a DOM). Reads a JSON array of chart
// texts on stdin; writes a JSON array, one entry per chart: the diagram
// type and what Mermaid understood (gantt tasks with their start and end in
// milliseconds, xychart categories and plots), or the parse error.
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const text of JSON.parse(input)) {
  try {
    const { diagramType } = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const entry = { type: diagramType };
    if (diagramType === 'gantt') {
      entry.tasks = diagram.db.getTasks().map((t) => ({
        name: t.task.trim(), section: t.section, milestone: !!t.milestone,
        start: t.startTime.getTime(), end: t.endTime.getTime(),
      }));
    }
    if (diagramType === 'xychart') {
      const data = diagram.db.getXYChartData();
      entry.categories = data.xAxis.categories;
      entry.plots = data.plots.map((p) => ({ type: p.type, values: p.data.map((d) => d[1]) }));
    }
    out.push(entry);
  } catch (e) {
    out.push({ error: String(e.message || e).split('\n').slice(0, 3).join(' ') });
  }
}
process.stdout.write(JSON.stringify(out));
