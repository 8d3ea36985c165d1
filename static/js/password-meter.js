// Password strength meter (templates/auth/set_password.html): zxcvbn-ts with its common
// and French dictionaries, loaded the first time the password field is used — never on the
// other pages. The server's check (webapp/services/passwords.py) is the one that counts: this
// only says, as the user types, what it will answer, with the same words (data-settings) and
// the same rules: length, context words (name, e-mail, « vigie »…) and a minimum score.
// The verdict is text in a polite live region; the bar is only a picture of it.

const L33T = { 0: "o", 1: "i", 3: "e", 4: "a", "@": "a", $: "s", 5: "s", 7: "t", "!": "i", "|": "l", "+": "t", 8: "b" };
const DELAY_MS = 350; // typing pauses before the verdict is spoken

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function normalise(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

// The password without the context words it holds (as typed or in l33t), and those words.
function withoutContext(password, words) {
  const text = normalise(password);
  const l33t = text.split("").map((c) => L33T[c] ?? c).join(""); // same length: same places
  const variants = [text, l33t, l33t.replace(/1/g, "l")];
  const kept = new Array(text.length).fill(true);
  const found = [];
  for (const word of words) {
    let hit = false;
    for (const variant of variants) {
      for (let at = variant.indexOf(word); at !== -1; at = variant.indexOf(word, at + 1)) {
        hit = true;
        kept.fill(false, at, at + word.length);
      }
    }
    if (hit) found.push(word);
  }
  return { rest: text.split("").filter((_, i) => kept[i]).join(""), found };
}

function addScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${url} did not load`));
    document.head.append(script);
  });
}

function start(root) {
  const input = document.getElementById(root.dataset.input);
  if (!input) return;
  const settings = JSON.parse(root.dataset.settings);
  const scripts = JSON.parse(root.dataset.scripts);
  const { texts } = settings;
  const bar = root.querySelector("meter");
  const output = root.querySelector("[data-meter-text]");
  let checker = null;
  let loading = null;
  let timer = null;

  root.hidden = false; // the live region exists before it speaks
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  input.setAttribute("aria-describedby", [...described, output.id].join(" "));

  function load() {
    loading ??= Promise.all(scripts.map(addScript))
      .then(() => {
        const z = window.zxcvbnts;
        const common = z["language-common"];
        checker = new z.core.ZxcvbnFactory({
          graphs: common.adjacencyGraphs,
          dictionary: { ...common.dictionary, ...z["language-fr"].dictionary },
        });
      })
      .catch(() => {
        root.hidden = true; // no meter; the server still checks
      });
    return loading;
  }

  function feedback(result) {
    const lines = [];
    if (result.feedback.warning) lines.push(texts[`warnings.${result.feedback.warning}`]);
    for (const key of result.feedback.suggestions) lines.push(texts[`suggestions.${key}`]);
    return lines.filter(Boolean).slice(0, 2);
  }

  function verdict(password) {
    const result = checker.check(password, settings.context);
    const { rest, found } = withoutContext(password, settings.context);
    let score = result.score;
    const lines = [];
    let accepted = true;
    if ([...password].length < settings.min_length) {
      accepted = false;
      lines.push(fill(texts.too_short, { count: [...password].length }));
    } else if (
      found.length &&
      ([...rest].length < settings.min_length || checker.check(rest, settings.context).score < settings.min_score)
    ) {
      accepted = false;
      lines.push(fill(texts.context, { words: found.map((w) => `« ${w} »`).join(", ") }));
    } else if (score < settings.min_score) {
      accepted = false;
      lines.push(...feedback(result));
    }
    if (!accepted) score = Math.min(score, settings.min_score - 1);
    return { score, lines, accepted };
  }

  function update() {
    const password = input.value;
    if (!password) {
      bar.value = 0;
      output.textContent = "";
      delete root.dataset.score;
      return;
    }
    if (!checker) {
      output.textContent = texts.loading;
      load().then(() => checker && update());
      return;
    }
    const { score, lines, accepted } = verdict(password);
    bar.value = score;
    root.dataset.score = String(score);
    root.dataset.accepted = String(accepted);
    output.textContent = [
      fill(texts.strength, { level: texts.levels[score] }),
      ...lines,
      accepted ? texts.accepted : texts.refused,
    ].join(" ");
  }

  input.addEventListener("focus", load, { once: true });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, DELAY_MS);
  });
  if (input.value) load().then(update);
}

for (const root of document.querySelectorAll("[data-password-meter]")) start(root);
