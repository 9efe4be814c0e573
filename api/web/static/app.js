// Milestone Ledger web view: a small client of the JSON API (no framework, no build step).
// The bearer token lives in sessionStorage (this tab), or in localStorage (every tab, until
// sign-out) when the person ticks "keep me signed in"; it travels only in the Authorization header.
"use strict";

const TOKEN_KEY = "milestones.token";
const AUDIT_PAGE = 25; // rows per page of the audit trail; "Load older entries" fetches the next
const HEALTH = {
  on_track: "on track",
  at_risk: "at risk",
  overdue: "overdue",
  achieved_on_time: "achieved on time",
  achieved_late: "achieved late",
  cancelled: "cancelled",
};
const STATE = { draft: "draft", in_review: "in review", approved: "approved", cancelled: "cancelled" };

const $ = (id) => document.getElementById(id);

// --- DOM helpers (text only: nothing from the API is ever parsed as HTML) -------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function badge(kind, value, label) {
  return h("span", { class: `badge ${kind}-${value}` }, label);
}

function safeLink(text) {
  // Evidence is a URI or a short text; only http(s) becomes a link (never javascript: etc.).
  return /^https?:\/\//i.test(text) ? h("a", { href: text, rel: "noopener noreferrer", target: "_blank" }, text) : text;
}

function pinned(evidence) {
  // Evidence that is an artifact is pinned by its digest: say which bytes (issue 14), and let
  // them be downloaded (with the token: a plain link would not carry it).
  const artifact = evidence.artifact;
  if (!artifact) return null;
  const path = `/v1/projects/${current.pid}/artifacts/${artifact.sha256}`;
  const name = artifact.filename || `artifact-${artifact.sha256.slice(0, 12)}`;
  const link = h("a", { href: path, class: "artifact", "data-sha256": artifact.sha256 }, `download ${name}`);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    saveBlob(path, "*/*", name).catch((e) => showError(`Could not download: ${e.message}`));
  });
  return h(
    "span",
    { class: "sub", title: `sha256 ${artifact.sha256}` },
    ` (artifact sha256 ${artifact.sha256.slice(0, 12)}…, ${artifact.size} bytes) `,
    link,
  );
}

function humanType(type) {
  return type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase().replace(/^./, (c) => c.toUpperCase());
}

function formatInstant(iso, timeZone) {
  // Always say which zone: the project's where it has one, else the browser's.
  const options = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" };
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso));
}

function formatDate(isoDate) {
  if (!isoDate) return "";
  return new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(`${isoDate}T00:00:00Z`),
  );
}

// --- the API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY);
}

function keepToken(value, everyTab) {
  forgetToken();
  (everyTab ? localStorage : sessionStorage).setItem(TOKEN_KEY, value);
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY); // other tabs hear of it (the storage event) and sign out
  me = null;
}

// Who the token signs in as (GET /v1/me), asked once per sign-in.
let me = null;

async function whoAmI() {
  if (!me) me = await getJson("/v1/me");
  const who = $("signed-in-as");
  const scope = me.read_only ? ", read-only token" : "";
  who.textContent = `Signed in as ${me.principal} (${me.role}${scope})`;
  who.hidden = false;
  return me;
}

async function api(path, accept = "application/json") {
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${token()}`, Accept: accept },
    cache: "no-store",
  });
  if (response.status === 401) {
    signOut("Your token was not accepted (unknown or revoked); sign in again.");
    throw new ApiError(401, "unauthorized");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch (_) {
      /* not problem JSON */
    }
    throw new ApiError(response.status, detail);
  }
  return response;
}

const getJson = async (path) => (await api(path)).json();

async function saveBlob(path, accept, filename) {
  const blob = await (await api(path, accept)).blob();
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// --- pages -----------------------------------------------------------------------------------

function show(pageId) {
  for (const page of document.querySelectorAll(".page")) page.hidden = page.id !== pageId;
  $("sign-out").hidden = pageId === "sign-in-page";
}

function showError(message) {
  const box = $("page-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function signOut(message) {
  forgetToken();
  $("signed-in-as").hidden = true;
  // What one person typed or was told is not left for the next one at this screen.
  for (const form of document.querySelectorAll(".work-form")) {
    form.reset();
    form.querySelector(".error").replaceChildren();
  }
  $("work-status").textContent = "";
  $("sign-in-error").textContent = message || "";
  if (location.hash !== "#/") history.replaceState(null, "", "#/");
  show("sign-in-page");
  $("token").focus();
}

// After a navigation, the page's heading takes focus so a screen reader announces it.
function focusHeading(id) {
  const heading = $(id);
  heading.setAttribute("tabindex", "-1");
  heading.focus();
}

async function route() {
  showError("");
  if (!token()) {
    show("sign-in-page");
    $("token").focus();
    return;
  }
  const match = location.hash.match(/^#\/projects\/([0-9a-f-]{36})(?:\?(.*))?$/i);
  try {
    await whoAmI();
    if (match) await openProject(match[1]);
    else await openProjects();
  } catch (error) {
    if (error.status !== 401) showError(error.status === 404 ? "No such project (or you have no role on it)." : `Could not load: ${error.message}`);
  }
}

// The project list comes a page at a time; the next page is named by `Link: <...>; rel="next"`.
const nextPage = (link) => /<([^>]+)>;\s*rel="next"/.exec(link || "")?.[1] || null;

async function allProjects() {
  const projects = [];
  for (let path = "/v1/projects?limit=1000"; path; ) {
    const response = await api(path);
    projects.push(...(await response.json()));
    path = nextPage(response.headers.get("Link"));
  }
  return projects;
}

async function openProjects() {
  const projects = await allProjects();
  document.title = "Projects — Milestone Ledger";
  const body = $("projects-table").querySelector("tbody");
  body.replaceChildren(
    ...projects.map((p) => {
      const deliverables = p.counts.deliverables || {};
      const milestones = p.counts.milestones || {};
      const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
      const next = p.next_due_milestone;
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, h("a", { href: `#/projects/${p.id}` }, p.name)),
        h("td", {}, p.role || "reads all"),
        h("td", { class: "num" }, `${deliverables.approved || 0} of ${total(deliverables)}`),
        h("td", { class: "num" }, `${milestones.achieved || 0} of ${total(milestones)}`),
        h("td", {}, next ? [next.name, h("div", { class: "sub" }, formatDate(next.due))] : "—"),
        h("td", {}, formatInstant(p.updated_at, p.timezone)),
      );
    }),
  );
  $("projects-empty").hidden = projects.length > 0;
  show("projects-page");
  focusHeading("projects-title");
}

// --- the project page ------------------------------------------------------------------------

// `project` is the plan as it is now (the version commands send in If-Match); `role` the
// caller's role on it (null: reads only).
const current = { pid: null, project: null, role: null, events: [], request: 0, auditCursor: null, compare: null };

// After a command (or a conflict): everything again, at now, keeping the focus where it is.
function refreshProject() {
  return openProject(current.pid, false);
}

async function openProject(pid, focus = true) {
  if (current.pid !== pid) {
    current.pid = pid;
    current.events = [];
  }
  const [project, events, baselines] = await Promise.all([
    getJson(`/v1/projects/${pid}`),
    loadHistory(pid),
    getJson(`/v1/projects/${pid}/baselines`),
  ]);
  current.project = project;
  current.events = events;
  // The caller's role from the project's own members (the state the commands act on, never a
  // view that may lag): an auditor or admin without a role has none.
  const mine = project.members.find((m) => me && m.principal === me.principal);
  current.role = mine ? mine.role : null;
  document.title = `${project.name} — Milestone Ledger`;
  $("project-title").textContent = project.name;
  $("project-description").textContent = project.description;
  $("project-meta").textContent = `${project.phases.length} phases · ${project.deliverables.length} deliverables · ${project.milestones.length} milestones · time zone ${project.timezone}`;
  setUpSlider(events);
  placeSlider(sharedInstant());
  setUpBaselines(baselines);
  setUpAuditFilters(events);
  $("audit-since-label").textContent = `From (date in ${project.timezone})`;
  $("audit-until-label").textContent = `To (date in ${project.timezone}, inclusive)`;
  setUpWork();
  fillWork(project);
  showPast(!isNow());
  show("project-page");
  if (focus) focusHeading("project-title");
  await Promise.all([drawState(), loadAudit(false)]);
}

async function loadHistory(pid) {
  const events = [];
  let after = 0;
  for (;;) {
    const page = await getJson(`/v1/projects/${pid}/history?after_version=${after}&limit=1000`);
    events.push(...page.events);
    if (page.next_after_version === null) return events;
    after = page.next_after_version;
  }
}

// Names as the project holds them now, to say what each change touched.
function nameOf(id) {
  const p = current.project;
  const found =
    p.deliverables.find((d) => d.id === id) || p.milestones.find((m) => m.id === id) || p.phases.find((x) => x.id === id);
  return found ? found.title || found.name : null;
}

function describeEvent(event) {
  const d = event.data || {};
  const subject =
    d.title || d.name || nameOf(d.deliverable_id) || nameOf(d.milestone_id) || d.principal || "";
  return `${event.actor}: ${humanType(event.type)}${subject ? ` — ${subject}` : ""}`;
}

function setUpSlider(events) {
  const slider = $("as-of");
  slider.min = "1";
  slider.max = String(events.length);
  slider.value = String(events.length);
  // The second handle: the plan to compare the one shown with (none until it is moved).
  const from = $("diff-from");
  from.min = "1";
  from.max = String(events.length);
  from.value = String(events.length);
  current.compare = null;
  describeSlider();
}

function setUpBaselines(found) {
  const select = $("diff-baseline");
  const named = found.baselines.filter((b) => b.name !== null);
  select.replaceChildren(
    h("option", { value: "" }, "none"),
    ...named.map((b) => h("option", { value: b.name }, b.name)),
  );
}

// The project and the as-of instant are the address (#/projects/ID?as_of=INSTANT), so a view of
// the past can be shared; the slider shows the last change recorded at or before that instant.
function sharedInstant() {
  const query = location.hash.split("?")[1];
  const instant = query ? new URLSearchParams(query).get("as_of") : null;
  return instant && !Number.isNaN(Date.parse(instant)) ? instant : null;
}

function placeSlider(instant) {
  if (!instant) return;
  // An event's own instant (as the page writes it) names that event exactly, even where
  // several share a millisecond; any other instant takes the last change at or before it.
  const exact = current.events.findLastIndex((e) => e.occurred_at === instant);
  const at = Date.parse(instant);
  const upTo = exact >= 0 ? exact + 1 : current.events.filter((e) => Date.parse(e.occurred_at) <= at).length;
  $("as-of").value = String(Math.max(upTo, 1));
  describeSlider();
}

function keepInAddress() {
  const instant = asOf();
  const address = `#/projects/${current.pid}${instant ? `?as_of=${encodeURIComponent(instant)}` : ""}`;
  if (location.hash !== address) history.replaceState(null, "", address);
}

function sliderEvent() {
  return current.events[Number($("as-of").value) - 1];
}

function isNow() {
  return Number($("as-of").value) === current.events.length;
}

function describeSlider() {
  const event = sliderEvent();
  const slider = $("as-of");
  if (!event) return;
  const when = formatInstant(event.occurred_at, current.project.timezone);
  const text = isNow()
    ? `Now: version ${event.version}, last change ${when} (${describeEvent(event)}).`
    : `As recorded at ${when}, version ${event.version} of ${current.events.length}: ${describeEvent(event)}.`;
  $("as-of-text").textContent = text;
  slider.setAttribute("aria-valuetext", `version ${event.version}, ${when}`);
  $("time-travel").classList.toggle("past", !isNow());
  showPast(!isNow());
  $("as-of-earlier").disabled = Number(slider.value) <= 1;
  $("as-of-later").disabled = isNow();
  $("as-of-now").disabled = isNow();
}

function asOf() {
  return isNow() ? null : sliderEvent().occurred_at;
}

async function drawState() {
  const request = ++current.request; // a later move of the slider wins over a slow answer
  const pid = current.pid;
  const instant = asOf();
  const query = instant ? `?as_of=${encodeURIComponent(instant)}` : "";
  keepInAddress();
  $("timeline").setAttribute("aria-busy", "true");
  const [project, svg] = await Promise.all([
    getJson(`/v1/projects/${pid}${query}`),
    api(`/v1/projects/${pid}/timeline.svg${query}`, "image/svg+xml").then((r) => r.text()),
  ]);
  const changes = await loadDiff(pid, instant);
  if (request !== current.request) return;
  drawTimeline(svg);
  drawSchedule(project);
  drawGates(project);
  drawDeliverables(project);
  drawAlignment(project);
  drawDiff(changes);
  $("project-page").dataset.version = String(project.version);
}

// --- the diff between the two handles (or a baseline and the plan shown) ----------------------

function compareFrom() {
  const compare = current.compare;
  if (!compare) return null;
  if (compare.baseline) return `baseline:${compare.baseline}`;
  const from = Number($("diff-from").value);
  if (from >= Number($("as-of").value)) return null; // the same plan, or a later one
  return current.events[from - 1].occurred_at;
}

async function loadDiff(pid, instant) {
  const from = compareFrom();
  if (!from) return null;
  const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(instant || "now")}`;
  return getJson(`/v1/projects/${pid}/diff?${query}`);
}

function describeChange(c) {
  const kinds = { milestone: "Milestone", deliverable: "Deliverable", criterion: "Criterion", link: "Link", dependency: "Dependency" };
  const fields = (c.change === "changed" ? c.fields : [])
    .map((f) => `${f.field.replaceAll("_", " ")} ${f.old ?? "—"} → ${f.new ?? "—"}`)
    .join(", ");
  const why = c.events
    .map((e) => `${humanType(e.type)} by ${e.actor}${e.reason ? `: ${e.reason}` : ""}`)
    .join("; ");
  return `${kinds[c.kind]} “${c.name}” ${c.change}${fields ? `: ${fields}` : ""} (${why}).`;
}

function drawDiff(found) {
  const list = $("diff-list");
  for (const marked of document.querySelectorAll(".changed")) marked.classList.remove("changed");
  if (!found) {
    list.replaceChildren();
    $("diff-text").textContent = current.compare
      ? "Move the second handle to an earlier change than the plan shown to compare them."
      : "";
    return;
  }
  const mark = (selector) => {
    for (const element of document.querySelectorAll(selector)) element.classList.add("changed");
  };
  for (const c of found.changes) {
    const [first, second] = c.id.split("/");
    if (c.kind === "milestone" || c.kind === "link" || c.kind === "dependency") {
      mark(`#schedule-table tr[data-milestone-id="${first}"]`);
      mark(`#timeline svg g.milestone[data-id="${first}"]`);
    }
    if (c.kind === "deliverable" || c.kind === "criterion") mark(`#deliverables-table tr[data-deliverable-id="${first}"]`);
    if (c.kind === "link") mark(`#deliverables-table tr[data-deliverable-id="${second}"]`);
  }
  list.replaceChildren(...found.changes.map((c) => h("li", { "data-kind": c.kind, "data-id": c.id }, describeChange(c))));
  const n = found.changes.length;
  $("diff-text").textContent = `${n} ${n === 1 ? "change" : "changes"} from version ${found.from.version} to version ${found.to.version}.`;
}

function drawTimeline(svgText) {
  const parsed = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = parsed.documentElement;
  if (svg.nodeName !== "svg") return;
  for (const script of svg.querySelectorAll("script, foreignObject")) script.remove();
  const canvas = $("timeline");
  canvas.replaceChildren(document.importNode(svg, true));
  canvas.setAttribute("aria-busy", "false");
}

function phaseNames(project) {
  return new Map(project.phases.map((p) => [p.id, p.name]));
}

function drawSchedule(project) {
  const deliverables = new Map(project.deliverables.map((d) => [d.id, d]));
  const rows = [];
  for (const phase of project.phases) {
    const milestones = project.milestones
      .filter((m) => m.phase_id === phase.id)
      .sort((a, b) => a.due.localeCompare(b.due) || a.name.localeCompare(b.name));
    if (!milestones.length) continue;
    milestones.forEach((m, n) => {
      const linked = m.deliverable_ids.map((id) => deliverables.get(id)).filter(Boolean);
      rows.push(
        h(
          "tr",
          { "data-milestone-id": m.id },
          n === 0 ? h("th", { scope: "rowgroup", rowspan: milestones.length }, phase.name) : null,
          h("th", { scope: "row" }, m.name),
          h("td", { class: "date" }, formatDate(m.due)),
          h("td", { class: "date" }, formatDate(m.baseline_due)),
          h("td", { class: "num date" }, m.slip_days ? `${m.slip_days > 0 ? "+" : ""}${m.slip_days} d` : "—"),
          h("td", {}, badge("health", m.health, HEALTH[m.health])),
          h("td", {}, m.achieved ? [formatInstant(m.achieved_at, project.timezone), h("div", { class: "sub" }, `by ${m.achieved_by}`), achievement(m, project)] : "—"),
          h(
            "td",
            {},
            linked.length
              ? h(
                  "ul",
                  {},
                  linked.map((d) =>
                    h("li", {}, `${d.title} `, badge("state", d.state, STATE[d.state]), h("span", { class: "sub" }, ` ${d.criteria_met}/${d.criteria_total} criteria`)),
                  ),
                )
              : h("span", { class: "sub" }, "none"),
          ),
        ),
      );
    });
  }
  $("schedule-table").querySelector("tbody").replaceChildren(...rows);
}

// R27: a signature's manifestation, from its event as the history holds it: "Signed by
// <printed name> (<principal>) — <meaning> — <time>"; what an older event did not record is
// said to be so, never made up.
const SIGNING = new Set(["DeliverableApprovalSigned", "DeliverableApproved", "DeliverableRejected", "DeliverableReopened", "MilestoneAchieved", "MilestoneReopened"]);

function signedLine(event, timezone) {
  const d = event.data || {};
  const who = d.signer_name ? `${d.signer_name} (${event.actor})` : `${event.actor} (printed name not recorded)`;
  const what = { DeliverableRejected: "Rejection. ", DeliverableReopened: "Reopening. ", MilestoneReopened: "Reopening. " }[event.type] || "";
  return `${what}Signed by ${who} — ${d.meaning || "meaning not recorded"} — ${formatInstant(event.occurred_at, timezone)}`;
}

// The signing events of the plan shown (the slider's version), about one entity, oldest first.
function signingsOf(key, id, version) {
  return current.events.filter((e) => e.version <= version && SIGNING.has(e.type) && e.data && e.data[key] === id);
}

// The achievement that stands, as signed.
function achievement(m, project) {
  const found = signingsOf("milestone_id", m.id, project.version).filter((e) => e.type === "MilestoneAchieved");
  if (!found.length) return null;
  return h("div", { class: "sub signature" }, signedLine(found[found.length - 1], project.timezone));
}

// The signatures of the deliverable's last review round (since its last submission).
function roundSignatures(d, project) {
  const own = current.events.filter((e) => e.version <= project.version && e.data && e.data.deliverable_id === d.id);
  const submitted = own.map((e) => e.type).lastIndexOf("DeliverableSubmitted");
  const signed = own.slice(submitted + 1).filter((e) => SIGNING.has(e.type));
  if (submitted < 0 || !signed.length) return null;
  return h("ul", { class: "sub signatures" }, signed.map((e) => h("li", {}, signedLine(e, project.timezone))));
}

// R21: the current round's approvals (or the signers of the approval that stands) of the quorum.
function signers(d) {
  if (!d.approvals.length && d.required_approvals <= 1) return null;
  const who = d.approvals.length ? `: ${d.approvals.join(", ")}` : "";
  return h("div", { class: "sub signers" }, `${d.approvals.length} of ${d.required_approvals} approvals${who}`);
}

// R24, R25: each phase in order, its exit gate, and the decision that stands with its signature.
const GATE = {
  none: "no exit gate",
  missing: "no decision yet",
  go: "go",
  conditional: "conditional, all conditions met",
  conditional_open: "conditional, open conditions",
  hold: "hold",
  no_go: "no go",
};

function drawGates(project) {
  const gated = project.phases.some((p) => p.exit_gate);
  $("gates-none").hidden = gated;
  $("gates-table").hidden = !gated;
  const rows = project.phases.map((p) => {
    const d = p.decision;
    return h(
      "tr",
      { "data-phase-id": p.id, "data-gate": p.gate },
      h("th", { scope: "row" }, `${p.position + 1}. ${p.name}`),
      h("td", {}, badge("gate", p.gate, GATE[p.gate] || p.gate)),
      h("td", {}, d ? [d.decision.replace("_", " "), h("div", { class: "sub" }, d.reason)] : "—"),
      h(
        "td",
        {},
        d
          ? [d.participants.join(", "), h("div", { class: "sub" }, `independent: ${d.independent.join(", ")}`)]
          : "—",
      ),
      h(
        "td",
        {},
        d
          ? [
              `${d.signer_name} (${d.meaning})`,
              h("div", { class: "sub" }, formatInstant(d.decided_at, project.timezone)),
              h("div", { class: "sub digest" }, `SHA-256 ${d.signed_digest.slice(0, 16)}…`),
            ]
          : "—",
      ),
      h(
        "td",
        {},
        d && d.conditions.length
          ? h(
              "ul",
              {},
              d.conditions.map((c) =>
                h(
                  "li",
                  {},
                  c.text,
                  h("span", { class: "sub" }, c.open ? " — open" : ` — closed by ${c.closed_by}: ${c.how}`),
                ),
              ),
            )
          : "—",
      ),
    );
  });
  $("gates-table").querySelector("tbody").replaceChildren(...rows);
}

function drawDeliverables(project) {
  const phases = phaseNames(project);
  const order = new Map(project.phases.map((p, n) => [p.id, n]));
  const list = [...project.deliverables].sort((a, b) => order.get(a.phase_id) - order.get(b.phase_id) || a.title.localeCompare(b.title));
  $("deliverables-table")
    .querySelector("tbody")
    .replaceChildren(
      ...list.map((d) => {
        const evidence = d.criteria.filter((c) => c.evidence);
        return h(
          "tr",
          { "data-deliverable-id": d.id, "data-state": d.state },
          h("td", {}, phases.get(d.phase_id) || ""),
          h("th", { scope: "row" }, d.title, h("div", { class: "sub" }, `kind: ${d.kind}`)),
          h("td", {}, d.owner || "—"),
          h("td", {}, badge("state", d.state, STATE[d.state]), signers(d), roundSignatures(d, project)),
          h("td", { class: "num" }, String(d.review_rounds)),
          h("td", { class: "num" }, `${d.criteria_met} of ${d.criteria_total}`),
          h(
            "td",
            {},
            evidence.length
              ? h("ul", {}, evidence.map((c) => h("li", {}, h("span", { class: "sub" }, `${c.text}: `), safeLink(c.evidence.evidence), pinned(c.evidence))))
              : h("span", { class: "sub" }, "none yet"),
          ),
        );
      }),
    );
}

// R11 from the same state as the tables (also for a past instant): cancelled things left out.
function drawAlignment(project) {
  const live = (x) => (x.status || x.state) !== "cancelled";
  const milestones = project.milestones.filter(live);
  const deliverables = project.deliverables.filter(live);
  const liveIds = new Set(deliverables.map((d) => d.id));
  const linked = new Set(milestones.flatMap((m) => m.deliverable_ids).filter((id) => liveIds.has(id)));
  const warnings = [
    ...milestones
      .filter((m) => !m.deliverable_ids.some((id) => liveIds.has(id)))
      .map((m) => `Milestone “${m.name}” has no deliverable to prove it (activity without evidence).`),
    ...deliverables
      .filter((d) => !linked.has(d.id))
      .map((d) => `Deliverable “${d.title}” is linked to no milestone (evidence without timing).`),
    ...deliverables
      .filter((d) => d.criteria_total === 0)
      .map((d) => `Deliverable “${d.title}” has no completion criteria.`),
  ];
  // An empty plan is not "aligned": say there is nothing to check yet.
  if (!milestones.length && !deliverables.length) {
    warnings.push("Nothing to check yet: the plan has no milestones and no deliverables.");
  }
  $("alignment-list").replaceChildren(...warnings.map((w) => h("li", {}, w)));
  $("alignment-ok").hidden = warnings.length > 0;
}

// --- the daily work: role-aware forms that send the API's commands ---------------------------
// Each form names its command (data-method, data-path with {ids} taken from the form's fields)
// and the project role it needs (data-needs); every other named field goes in the JSON body.
// Every command carries If-Match with the version the page shows, so a change by someone else
// since is a clear 412, never a silent overwrite.

const ROLE_RANK = { viewer: 0, contributor: 1, reviewer: 2, manager: 3 };

function mayUse(needs) {
  const role = current.role;
  if (me && me.read_only) return false; // a read-only token's commands are refused anyway
  return role !== null && role !== undefined && ROLE_RANK[role] >= ROLE_RANK[needs];
}

function setUpWork() {
  const role = current.role;
  const forms = [...document.querySelectorAll(".work-form")];
  for (const form of forms) form.hidden = !mayUse(form.dataset.needs);
  const usable = forms.filter((f) => !f.hidden).length;
  $("work").hidden = usable === 0;
  $("work-role").textContent = role ? `You are ${role} on this project: these are the changes that role may make.` : "";
}

function optionsFor(spec, project) {
  const [kind, filter] = spec.split(":");
  if (kind === "phases") {
    return project.phases.filter((p) => filter !== "gated" || p.exit_gate).map((p) => [p.id, p.name]);
  }
  if (kind === "members") return project.members.map((m) => [m.principal, `${m.principal} (${m.role})`]);
  if (kind === "deliverables") {
    const keep = (d) =>
      filter === "live" ? d.state !== "cancelled"
      : filter === "reopenable" ? d.state === "in_review" || d.state === "approved"
      : d.state === filter;
    return project.deliverables.filter(keep).map((d) => [d.id, `${d.title} (${STATE[d.state]})`]);
  }
  if (kind === "milestones") {
    const status = filter === "achieved" ? "achieved" : "not_achieved";
    return project.milestones
      .filter((m) => m.status === status)
      .map((m) => [m.id, `${m.name} (due ${formatDate(m.due)})`]);
  }
  if (kind === "criteria") {
    const deliverable = project.deliverables.find((d) => d.id === $(filter).value);
    return (deliverable ? deliverable.criteria : []).map((c) => [c.id, c.met ? `${c.text} (has evidence)` : c.text]);
  }
  return [];
}

function fillSelect(select, project) {
  const chosen = new Set([...select.selectedOptions].map((o) => o.value));
  const options = optionsFor(select.dataset.options, project);
  const placeholder = select.multiple ? [] : [h("option", { value: "" }, options.length ? "— choose —" : "— none —")];
  select.replaceChildren(...placeholder, ...options.map(([value, label]) => h("option", { value }, label)));
  for (const option of select.options) option.selected = chosen.has(option.value) && option.value !== "";
}

// The choices follow the plan as it is now (never a past instant: commands act on now).
function fillWork(project) {
  for (const select of document.querySelectorAll("#work select[data-options]")) {
    if (!select.dataset.options.startsWith("criteria:")) fillSelect(select, project);
  }
  for (const select of document.querySelectorAll("#work select[data-options^='criteria:']")) fillSelect(select, project);
}

function showPast(past) {
  $("work-past").hidden = !past;
  for (const fieldset of document.querySelectorAll("#work fieldset")) fieldset.disabled = past;
}

function commandOf(form) {
  const ids = {};
  const body = {};
  const path = form.dataset.path;
  for (const control of form.querySelectorAll("[name]")) {
    const name = control.name;
    if (path.includes(`{${name}}`)) ids[name] = control.value;
    else if (control.multiple) body[name] = [...control.selectedOptions].map((o) => o.value);
    else if (control.dataset.list === "lines") {
      const lines = control.value.split("\n").map((line) => line.trim()).filter(Boolean);
      if (lines.length) body[name] = lines;
    }
    else if (control.value.trim() !== "") body[name] = control.value.trim();
  }
  const filled = path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(ids[name]));
  return { method: form.dataset.method, url: `/v1/projects/${current.pid}/${filled}`, body };
}

// What a refusal says, in the rule's own words: each listed reason with its rule (or field),
// else the problem's detail.
function refusalLines(status, problem) {
  if (status === 412) {
    const now = problem.current_version;
    return [
      `Someone changed this project since you loaded it (you saw version ${current.project.version}` +
        `${now ? `, it is now at version ${now}` : ""}). Nothing was saved; the page now shows the latest plan: check it and try again.`,
    ];
  }
  const reasons = (problem.errors || [])
    .map((e) => (e.rule ? `${e.rule}: ${e.message}` : e.field ? `${e.field}: ${e.message}` : e.message))
    .filter(Boolean);
  if (reasons.length) return reasons;
  return [problem.detail || problem.title || `Refused (HTTP ${status}).`];
}

function showRefusal(box, lines) {
  box.replaceChildren(lines.length === 1 ? lines[0] : h("ul", {}, lines.map((line) => h("li", {}, line))));
}

// A file for evidence goes first to POST …/artifacts (XMLHttpRequest: fetch reports no upload
// progress); the answer is {status, answer} as for a command.
function uploadArtifact(file, progress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/v1/projects/${current.pid}/artifacts`);
    request.setRequestHeader("Authorization", `Bearer ${token()}`);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    request.setRequestHeader("Content-Disposition", `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`);
    progress.max = Math.max(file.size, 1);
    progress.value = 0;
    progress.hidden = false;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = event.loaded;
    });
    request.addEventListener("load", () => {
      let answer = {};
      try {
        answer = JSON.parse(request.responseText);
      } catch (_) {
        /* not JSON */
      }
      resolve({ status: request.status, answer });
    });
    request.addEventListener("error", () => reject(new Error("the upload was cut off (the server may have refused a file that large)")));
    request.send(file);
  });
}

// The file of the evidence form, if one is chosen: uploaded, its digest put in the body.
// False when the upload was refused (the refusal is shown in the form).
async function attachFile(form, body, error) {
  const input = form.querySelector("input[type=file]");
  if (!input || !input.files.length) return true;
  const progress = form.querySelector("progress");
  const file = input.files[0];
  $("work-status").textContent = `Uploading ${file.name} (${file.size} bytes)…`;
  const { status, answer } = await uploadArtifact(file, progress);
  if (status === 401) {
    signOut("Your token was not accepted (unknown or revoked); sign in again.");
    return false;
  }
  if (status !== 200 && status !== 201) {
    $("work-status").textContent = "";
    const lines = refusalLines(status, answer);
    showRefusal(error, lines.map((line) => `The file was not uploaded: ${line}`));
    return false;
  }
  body.artifact = answer.sha256;
  $("work-status").textContent = `Uploaded ${file.name}: sha256 ${answer.sha256}.`;
  return true;
}

async function sendCommand(form) {
  const error = form.querySelector(".error");
  const warning = form.querySelector(".warning");
  const button = form.querySelector("button[type=submit]");
  error.textContent = "";
  if (warning) warning.textContent = "";
  $("work-status").textContent = "";
  const { method, url, body } = commandOf(form);
  button.disabled = true;
  try {
    if (!(await attachFile(form, body, error))) return;
    const response = await fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${token()}`,
        Accept: "application/json",
        "Content-Type": "application/json",
        "If-Match": `"${current.project.version}"`,
      },
      body: JSON.stringify(body),
      cache: "no-store",
    });
    if (response.status === 401) {
      signOut("Your token was not accepted (unknown or revoked); sign in again.");
      return;
    }
    let answer = {};
    try {
      answer = await response.json();
    } catch (_) {
      /* no JSON body */
    }
    if (!response.ok) {
      showRefusal(error, refusalLines(response.status, answer));
      if (response.status === 412) await refreshProject();
      return;
    }
    const what = form.querySelector("legend").textContent;
    for (const input of form.querySelectorAll("input, textarea")) input.value = "";
    await refreshProject();
    // Advice about an accepted command (a due date already past): kept beside the form.
    const advice = (answer.warnings || []).map((w) => `Warning: ${w.detail}.`).join(" ");
    if (warning) warning.textContent = advice;
    $("work-status").textContent = (answer.changed === false
      ? `${what}: nothing to change (version ${answer.version}).`
      : `${what}: done (version ${answer.version}).`) + (advice ? ` ${advice}` : "");
  } catch (failure) {
    if (failure.status !== 401) error.textContent = `Could not send: ${failure.message}`;
  } finally {
    button.disabled = false;
    const progress = form.querySelector("progress");
    if (progress) progress.hidden = true;
  }
}

// --- the audit trail -------------------------------------------------------------------------

function setUpAuditFilters(events) {
  const fill = (select, values, anyLabel, label = (v) => v) => {
    const chosen = select.value;
    select.replaceChildren(h("option", { value: "" }, anyLabel), ...values.map((v) => h("option", { value: v }, label(v))));
    if (values.includes(chosen)) select.value = chosen;
  };
  fill($("audit-actor"), [...new Set(events.map((e) => e.actor))].sort(), "anyone");
  fill($("audit-type"), [...new Set(events.map((e) => e.type))].sort(), "any type", humanType);
}

// Midnight starting `isoDate` in `timeZone`, as a UTC instant (the zone's offset that day,
// taken twice so a change of offset at the day's start still lands on its midnight).
function zoneMidnight(isoDate, timeZone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const offset = (instant) => {
    const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
    return Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second) - instant.getTime();
  };
  const utcMidnight = Date.parse(`${isoDate}T00:00:00Z`);
  const first = utcMidnight - offset(new Date(utcMidnight));
  return new Date(utcMidnight - offset(new Date(first))).toISOString();
}

// A piece of a file name: letters and digits, the rest one dash ("Customer Portal" → "customer-portal").
function slug(text) {
  return String(text)
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase()
    .slice(0, 60);
}

// The export's file name says what it holds: the project and the filter ("customer-portal-
// relaunch-audit-bob-deliverableapproved.csv"), not always "audit.csv".
function auditFilename() {
  const parts = [slug(current.project.name) || "project", "audit"];
  for (const id of ["audit-actor", "audit-type", "audit-since", "audit-until"]) {
    const value = $(id).value;
    if (value) parts.push(slug(value));
  }
  if (!isNow()) parts.push(`to-version-${sliderEvent().version}`);
  return `${parts.join("-")}.csv`;
}

function auditQuery() {
  const params = new URLSearchParams({ project_id: current.pid });
  const actor = $("audit-actor").value;
  const type = $("audit-type").value;
  const since = $("audit-since").value;
  const until = $("audit-until").value;
  if (actor) params.set("actor", actor);
  if (type) params.set("type", type);
  // The trail follows the slider: at a past position it ends with the event shown.
  if (!isNow()) params.set("to_position", String(sliderEvent().position));
  const zone = current.project.timezone; // one zone per page: the project's
  if (since) params.set("since", zoneMidnight(since, zone));
  if (until) {
    const next = new Date(`${until}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1); // the API's `until` is exclusive
    params.set("until", zoneMidnight(next.toISOString().slice(0, 10), zone));
  }
  return params;
}

let auditRequests = 0; // the slider may move again before an answer comes: the last one wins

async function loadAudit(more) {
  const request = ++auditRequests;
  const params = auditQuery();
  params.set("limit", String(AUDIT_PAGE));
  if (more && current.auditCursor) params.set("cursor", current.auditCursor);
  const page = await getJson(`/v1/audit?${params}`);
  if (request !== auditRequests) return;
  const body = $("audit-table").querySelector("tbody");
  const rows = page.items.map((e) =>
    h(
      "tr",
      { "data-type": e.type },
      h("td", {}, formatInstant(e.occurred_at, current.project.timezone)),
      h("td", { class: "actor" }, e.actor),
      h("td", {}, humanType(e.type)),
      h("td", {}, e.summary),
      h("td", { class: "num" }, String(e.version)),
    ),
  );
  if (more) body.append(...rows);
  else body.replaceChildren(...rows);
  current.auditCursor = page.next_cursor;
  $("audit-more").hidden = !page.next_cursor;
  const shown = body.children.length;
  const upTo = isNow() ? "" : `, up to version ${sliderEvent().version} (the slider's position)`;
  $("audit-count").textContent = `${shown} ${shown === 1 ? "entry" : "entries"} shown${upTo}${page.next_cursor ? " (more available)" : ""}.`;
}

// --- wiring ----------------------------------------------------------------------------------

function moveSlider(to) {
  const slider = $("as-of");
  slider.value = String(Math.min(Math.max(to, 1), current.events.length));
  describeSlider();
  redraw();
}

function redraw() {
  Promise.all([drawState(), loadAudit(false)]).catch((error) => {
    if (error.status !== 401) showError(`Could not load that moment: ${error.message}`);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("token");
    keepToken(input.value.trim(), $("remember").checked);
    input.value = "";
    $("sign-in-error").textContent = "";
    await route();
  });
  $("sign-out").addEventListener("click", () => signOut("Signed out."));

  const slider = $("as-of");
  slider.addEventListener("input", describeSlider);
  slider.addEventListener("change", redraw);
  $("as-of-earlier").addEventListener("click", () => moveSlider(Number(slider.value) - 1));
  $("as-of-later").addEventListener("click", () => moveSlider(Number(slider.value) + 1));
  $("as-of-now").addEventListener("click", () => moveSlider(current.events.length));
  $("diff-from").addEventListener("change", () => {
    current.compare = { version: Number($("diff-from").value) };
    $("diff-baseline").value = "";
    redraw();
  });
  $("diff-baseline").addEventListener("change", () => {
    const name = $("diff-baseline").value;
    current.compare = name ? { baseline: name } : null;
    redraw();
  });
  $("diff-clear").addEventListener("click", () => {
    current.compare = null;
    $("diff-baseline").value = "";
    $("diff-from").value = $("diff-from").max;
    redraw();
  });

  $("timeline-download").addEventListener("click", () => {
    const instant = asOf();
    const query = instant ? `?as_of=${encodeURIComponent(instant)}` : "";
    saveBlob(`/v1/projects/${current.pid}/timeline.svg${query}`, "image/svg+xml", `${slug(current.project.name) || "project"}-timeline.svg`).catch((e) => showError(e.message));
  });

  const filters = $("audit-filters");
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit(false).catch((e) => showError(e.message));
  });
  filters.addEventListener("reset", () => setTimeout(() => loadAudit(false).catch((e) => showError(e.message))));
  $("audit-more").addEventListener("click", () => loadAudit(true).catch((e) => showError(e.message)));
  $("audit-csv").addEventListener("click", () => {
    saveBlob(`/v1/audit?${auditQuery()}`, "text/csv", auditFilename()).catch((e) => showError(e.message));
  });

  for (const form of document.querySelectorAll(".work-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendCommand(form);
    });
  }
  $("re-deliverable").addEventListener("change", () => fillSelect($("re-criterion"), current.project));

  window.addEventListener("hashchange", route);
  // Signed out (or in) in another tab with "keep me signed in": follow it here.
  window.addEventListener("storage", (event) => {
    if (event.key !== TOKEN_KEY || sessionStorage.getItem(TOKEN_KEY)) return;
    if (event.newValue === null) signOut("Signed out in another tab.");
    else if ($("sign-in-page").hidden === false) route();
  });
  route();
});
