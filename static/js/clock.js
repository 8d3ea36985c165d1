// One clock: times in the syndicate's time zone, written with the server's own patterns
// (webapp/presenters/clock.py sends them), never in the device's zone or format.

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

export function makeClock(rules) {
  const zone = rules.zone || "Europe/Paris";
  let format;
  try {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
  } catch {
    format = new Intl.DateTimeFormat("en-GB", {
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
  }

  function parts(value) {
    const date = value instanceof Date ? value : new Date(value);
    const out = {};
    for (const part of format.formatToParts(date)) out[part.type] = part.value;
    return out;
  }

  function time(value) {
    if (value === null || value === undefined || value === "") return "";
    const p = parts(value);
    return fill(rules.time, { h: String(Number(p.hour)), m: p.minute });
  }

  function since(value) {
    if (!value) return "";
    const p = parts(value);
    const today = parts(new Date());
    const at = time(value);
    if (p.year === today.year && p.month === today.month && p.day === today.day) {
      return fill(rules.since_today, { time: at });
    }
    return fill(rules.since_day, { date: fill(rules.day, { day: p.day, month: p.month }), time: at });
  }

  return { time, since };
}
