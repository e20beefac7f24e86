/**
 * The graph: cytoscape draws the model, fCoSE lays it out (networks and other hosts as compound nodes around
 * their endpoints). An update changes only what changed: counters rewrite labels in place, and only a node
 * or edge added or removed lays the graph out again, starting from where the nodes are.
 */
import cytoscape, { type ElementDefinition } from "cytoscape";
import fcose, { type FcoseLayoutOptions } from "cytoscape-fcose";
import type { Topology } from "../topology.js";

cytoscape.use(fcose);

const style: cytoscape.StylesheetJson = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "text-wrap": "wrap",
      "text-valign": "bottom",
      "text-margin-y": 4,
      "font-size": 10,
      color: "#1d2430",
      width: 18,
      height: 18,
    },
  },
  {
    selector: 'node[kind = "network"]',
    style: {
      shape: "round-rectangle",
      "background-color": "#eaf1ff",
      "border-color": "#7aa2e3",
      "border-width": 1,
      "text-valign": "top",
      "font-weight": "bold",
    },
  },
  {
    selector: 'node[kind = "host"]',
    style: {
      shape: "round-rectangle",
      "background-color": "#f3ecff",
      "border-color": "#9f7aea",
      "border-style": "dashed",
      "border-width": 1,
      "text-valign": "top",
    },
  },
  { selector: 'node[kind = "endpoint"]', style: { "background-color": "#2f6fdb" } },
  { selector: 'node[kind = "namespace"]', style: { shape: "rectangle", "background-color": "#8a94a6" } },
  {
    selector: 'node[kind = "loadbalancer"]',
    style: { shape: "diamond", "background-color": "#e59f10", width: 24, height: 24 },
  },
  { selector: "node:selected", style: { "border-width": 3, "border-color": "#d4a106" } },
  { selector: "edge", style: { width: 1.5, "line-color": "#9aa3b2", "curve-style": "bezier" } },
  {
    selector: 'edge[kind = "backend"]',
    style: {
      "line-style": "dashed",
      "line-color": "#e59f10",
      "target-arrow-shape": "triangle",
      "target-arrow-color": "#e59f10",
    },
  },
];

export interface Graph {
  update(model: Topology): void;
  select(id: string | undefined): void;
}

/** Makes `cy` hold what `model` says; whether a node or edge was added, removed or moved. */
function apply(cy: cytoscape.Core, model: Topology): boolean {
  const wanted = new Set([...model.nodes.map((n) => n.id), ...model.edges.map((e) => e.id)]);
  // Removing a network removes what is drawn inside it; what is still wanted is added again below.
  const gone = cy.elements().filter((el) => !wanted.has(el.id()));
  gone.remove();
  let moved = false;
  const added: ElementDefinition[] = [];
  for (const n of model.nodes) {
    const data = {
      id: n.id,
      kind: n.kind,
      label: n.label,
      ...(n.parent === undefined ? {} : { parent: n.parent }),
    };
    const node = cy.getElementById(n.id);
    if (node.empty()) {
      added.push({ group: "nodes", data });
      continue;
    }
    node.data("label", n.label);
    const parent = node.parent();
    if ((parent.empty() ? undefined : parent.first().id()) !== n.parent) {
      node.move({ parent: n.parent ?? null });
      moved = true;
    }
  }
  for (const e of model.edges)
    if (cy.getElementById(e.id).empty())
      added.push({ group: "edges", data: { id: e.id, kind: e.kind, source: e.source, target: e.target } });
  cy.add(added);
  return gone.nonempty() || moved || added.length > 0;
}

export function createGraph(container: HTMLElement, onSelect: (id: string | undefined) => void): Graph {
  const cy = cytoscape({ container, style, minZoom: 0.2, maxZoom: 3 });
  let laidOut = false;
  cy.on("tap", (event) => {
    const target = event.target as cytoscape.Core | cytoscape.NodeSingular | cytoscape.EdgeSingular;
    onSelect(target === cy || !("isNode" in target) || !target.isNode() ? undefined : target.id());
  });

  return {
    update(model) {
      cy.startBatch();
      let changed: boolean;
      try {
        changed = apply(cy, model);
      } finally {
        cy.endBatch();
      }
      if (changed && cy.nodes().nonempty()) {
        const layout: FcoseLayoutOptions = {
          name: "fcose",
          animate: false,
          // fCoSE starts from the current positions only at its best quality.
          randomize: !laidOut,
          quality: laidOut ? "proof" : "default",
          nodeDimensionsIncludeLabels: true,
          padding: 30,
        };
        // @types/cytoscape-fcose declares its optional callbacks without `| undefined`, which
        // exactOptionalPropertyTypes tells apart from cytoscape's own.
        cy.layout(layout as cytoscape.LayoutOptions).run();
        laidOut = true;
      }
      // What cytoscape holds, for whoever checks that the drawing and the list agree.
      container.dataset["nodes"] = String(cy.nodes().length);
      container.dataset["edges"] = String(cy.edges().length);
    },
    select(id) {
      cy.elements().unselect();
      if (id !== undefined) cy.getElementById(id).select();
    },
  };
}
