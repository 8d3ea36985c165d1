// The offline page (/hors-ligne): the last state of the user's members that the service
// worker kept (cache "vigie-data", see templates/pwa/sw.js), and how old it is.
import { makeClock } from "./clock.js";

const DATA_CACHE = "vigie-data";

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function badge(display) {
  const span = document.createElement("span");
  span.className = `badge badge--${display.modifier}`;
  const glyph = document.createElement("span");
  glyph.className = "badge__glyph";
  glyph.setAttribute("aria-hidden", "true");
  glyph.textContent = display.glyph;
  span.append(glyph, " ", display.label);
  return span;
}

function age(texts, ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  if (minutes < 1) return texts.age_now;
  if (minutes < 60) return fill(texts.age_minutes, { n: String(minutes) });
  if (minutes < 24 * 60) {
    return fill(texts.age_hours, {
      h: String(Math.floor(minutes / 60)), m: String(minutes % 60).padStart(2, "0"),
    });
  }
  return texts.age_days;
}

function when(clock, rules, texts, date) {
  const zone = rules.zone || "Europe/Paris";
  const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(d);
  const at = clock.time(date);
  if (day(date) === day(new Date())) return at;
  const [year, month, dayOfMonth] = day(date).split("-");
  const date_ = `${fill(rules.day, { day: dayOfMonth, month })}/${year}`;
  return fill(texts.day_time, { date: date_, time: at });
}

async function readRecord(url) {
  if (!("caches" in window)) return null;
  try {
    const cache = await caches.open(DATA_CACHE);
    const response = await cache.match(url);
    return response ? await response.json() : null;
  } catch {
    return null;
  }
}

async function show(root) {
  const rules = JSON.parse(root.dataset.clock);
  const states = JSON.parse(root.dataset.states);
  const texts = JSON.parse(root.dataset.texts);
  const clock = makeClock(rules);
  const record = await readRecord(root.dataset.summaryUrl);
  const members = record && record.summary && record.summary.members;
  if (!Array.isArray(members) || members.length === 0) return;

  // The data's time: when the worker fetched it, less the age the server reported then.
  const fetched = new Date(record.fetched_at);
  const sourceAge = Number(record.summary.source_age_s) || 0;
  const dataAt = new Date(fetched.getTime() - sourceAge * 1000);
  const line = root.querySelector("[data-offline-age]");
  line.textContent = `${fill(texts.last_data, { time: when(clock, rules, texts, dataAt) })} `
    + `(${age(texts, Date.now() - dataAt.getTime())})`;
  line.dataset.at = dataAt.toISOString();
  line.hidden = false;
  if (record.summary.stale) {
    const stale = root.querySelector("[data-offline-stale]");
    stale.textContent = texts.stale;
    stale.hidden = false;
  }

  const list = root.querySelector("[data-offline-list]");
  for (const member of members) {
    const item = document.createElement("li");
    item.className = "offline-member";
    const name = document.createElement("span");
    name.className = "offline-member__name";
    name.textContent = member.name;
    item.append(name, " ", badge(states[member.state] || states.unknown));
    list.append(item);
  }
  list.hidden = false;
  root.querySelector("[data-offline-empty]").hidden = true;
}

const root = document.querySelector("[data-offline]");
if (root) show(root);
