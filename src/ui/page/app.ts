/**
 * The page: reads hostnetd's objects, follows its event stream to read them again whenever one changes, and
 * asks each endpoint's counters in turn; draws them as a graph and as a list from one model.
 */
import type { EndpointStats } from "../../api/rest/wire.js";
import { emptyObjects, hasTraffic, topology, type Objects } from "../topology.js";
import { createGraph } from "./graph.js";
import { followEvents, readObjects, readStats } from "./hostnetd.js";
import { drawList, markSelected, showEvent } from "./list.js";

/** How long the page waits between two rounds of counters, and before following the events again. */
const PAUSE_MS = 2000;
/** Events of these kinds change what the page shows. */
const drawnKinds = new Set(["network", "endpoint", "namespace", "loadbalancer", "cluster"]);

const element = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
};
const statusLine = element("status");
const objectList = element("objects");
const eventList = element("events");

let objects: Objects = emptyObjects;
const traffic = new Map<string, EndpointStats>();
let selected: string | undefined;

const select = (id: string | undefined): void => {
  selected = id;
  graph.select(id);
  markSelected(objectList, id);
};
const graph = createGraph(element("graph"), select);

function draw(): void {
  const model = topology(objects, traffic);
  graph.update(model);
  drawList(objectList, model, selected, select);
}

function setStatus(state: "live" | "lost", text: string): void {
  statusLine.dataset["state"] = state;
  statusLine.textContent = text;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the objects again and draws them. */
async function readAndDraw(): Promise<void> {
  try {
    objects = await readObjects();
    const ids = new Set(objects.endpoints.map((e) => e.ID));
    for (const id of traffic.keys()) if (!ids.has(id)) traffic.delete(id);
    draw();
  } catch (err) {
    setStatus("lost", `cannot read hostnetd's objects: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Reads the objects again; the requests made while one read runs are served by one more read after it. */
let reading = false;
let again = false;
function refresh(): void {
  if (reading) {
    again = true;
    return;
  }
  reading = true;
  void readAndDraw().finally(() => {
    reading = false;
    if (again) {
      again = false;
      refresh();
    }
  });
}

/** Follows the event stream for as long as the page is open, reconnecting (and reading everything again). */
async function follow(): Promise<never> {
  let since: string | undefined;
  let lastSeq = -1;
  for (;;) {
    try {
      await followEvents(
        since,
        () => {
          setStatus("live", "live: following hostnetd's events");
          refresh();
        },
        (e) => {
          // Events of the millisecond `since` names come again after a reconnect.
          if (e.Seq <= lastSeq) return;
          lastSeq = e.Seq;
          since = e.Time;
          showEvent(eventList, e);
          if (drawnKinds.has(e.Kind)) refresh();
        },
      );
      setStatus("lost", "hostnetd ended the event stream; reconnecting");
    } catch (err) {
      setStatus(
        "lost",
        `cannot follow hostnetd's events: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    await sleep(PAUSE_MS);
  }
}

/**
 * Asks each counted endpoint's statistics one after the other, so that hostnetd reads the kernel's counters
 * for one endpoint at a time whatever their number; then draws the counters and pauses.
 */
async function count(): Promise<never> {
  for (;;) {
    for (const e of objects.endpoints.filter(hasTraffic)) {
      try {
        traffic.set(e.ID, await readStats(e.ID));
      } catch {
        // Deleted since the last read: the next read of the objects drops it.
      }
    }
    if (traffic.size > 0) draw();
    await sleep(PAUSE_MS);
  }
}

void follow();
void count();
