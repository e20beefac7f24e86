/**
 * The page's list of what the graph shows, one item per node, drawn from the same model: readable without
 * the canvas (and by a test), with each object's details and counters. Text goes in as text only: names
 * come from whoever made the objects.
 */
import type { EventWire } from "../../api/rest/events.js";
import { trafficText, type Topology, type TopologyNode } from "../topology.js";

function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement("span");
  s.className = className;
  s.textContent = text;
  return s;
}

function item(node: TopologyNode, onSelect: (id: string) => void): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset["id"] = node.id;
  li.dataset["kind"] = node.kind;
  li.dataset["name"] = node.name;
  if (node.parent !== undefined) li.dataset["parent"] = node.parent;
  li.append(span("kind", node.kind), span("name", node.name));
  if (node.details.length > 0) li.append(span("details", node.details.join(" · ")));
  if (node.traffic !== undefined) {
    const t = node.traffic;
    const traffic = span("traffic", trafficText(t));
    traffic.dataset["bytesReceived"] = String(t.BytesReceived);
    traffic.dataset["bytesSent"] = String(t.BytesSent);
    traffic.dataset["packetsReceived"] = String(t.PacketsReceived);
    traffic.dataset["packetsSent"] = String(t.PacketsSent);
    li.append(traffic);
  }
  li.addEventListener("click", () => onSelect(node.id));
  return li;
}

/** Draws the list of `model` in `list`, marking `selected`. */
export function drawList(
  list: HTMLElement,
  model: Topology,
  selected: string | undefined,
  onSelect: (id: string) => void,
): void {
  list.replaceChildren(...model.nodes.map((n) => item(n, onSelect)));
  markSelected(list, selected);
}

export function markSelected(list: HTMLElement, id: string | undefined): void {
  for (const li of list.querySelectorAll<HTMLLIElement>("li")) {
    if (li.dataset["id"] === id) {
      li.dataset["selected"] = "";
      li.scrollIntoView({ block: "nearest" });
    } else delete li.dataset["selected"];
  }
}

/** How many events the page keeps showing. */
const EVENTS_SHOWN = 50;

/** Puts `e` on top of the event list: `TIME KIND ACTION NAME (cause CAUSE)`. */
export function showEvent(list: HTMLElement, e: EventWire): void {
  const li = document.createElement("li");
  li.dataset["seq"] = String(e.Seq);
  li.textContent = `${e.Time} ${e.Kind} ${e.Action} ${e.Name} (cause ${e.Cause})`;
  list.prepend(li);
  while (list.children.length > EVENTS_SHOWN) list.lastElementChild?.remove();
}
