// The translation page: no framework, no build step; it speaks the server's native API.
"use strict";

const RTL = new Set(["fa", "ar", "he", "ur", "ps", "ckb"]);
const $ = (id) => document.getElementById(id);
let attention = [];  // per sentence of the last translation: {source_tokens, target_tokens, layers}

function direction() {
  const [source, target] = $("direction").value.split("-");
  return { source, target };
}

function setTextDirection(element, language) {
  element.dir = RTL.has(language) ? "rtl" : "ltr";
  element.lang = language;
  element.classList.toggle("rtl", RTL.has(language));
}

async function loadLanguages() {
  const response = await fetch("/languages");
  const languages = await response.json();
  const names = Object.fromEntries(languages.map((l) => [l.code, l.name]));
  for (const language of languages) {
    for (const target of language.targets) {
      const option = new Option(`${language.name} → ${names[target] || target}`, `${language.code}-${target}`);
      $("direction").add(option);
    }
  }
  directionChanged();
  const settings = await (await fetch("/frontend/settings")).json();
  $("api-key-label").hidden = !settings.keyRequired;
}

function directionChanged() {
  const { source, target } = direction();
  setTextDirection($("source"), source);
  setTextDirection($("translation"), target);
  const reverse = `${target}-${source}`;
  $("swap").disabled = ![...$("direction").options].some((o) => o.value === reverse);
}

function swap() {
  const { source, target } = direction();
  $("direction").value = `${target}-${source}`;
  $("source").value = $("translation").value;
  $("translation").value = "";
  directionChanged();
}

// The glossary box's terms as {source term: target term}; an error names a line without "=".
function glossary() {
  const terms = {};
  $("glossary").value.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const cut = line.indexOf("=");
    if (cut < 0) throw new Error(`Glossary line ${index + 1}: expected "source term = target term"`);
    terms[line.slice(0, cut).trim()] = line.slice(cut + 1).trim();
  });
  return terms;
}

// Run ``request`` with ``button`` disabled, saying "Translating…" until it ends or fails.
async function busy(button, request) {
  status("Translating…");
  button.disabled = true;
  try {
    await request();
    status("");
  } catch (error) {
    status(error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function answerOf(response) {
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

async function translate(event) {
  event.preventDefault();
  const { source, target } = direction();
  const beam = Number($("beam").value);
  const nbest = $("show-nbest").checked ? Math.min(Number($("nbest").value), beam) : 1;
  await busy($("translate"), async () => {
    const body = {
      q: $("source").value, source, target, beam_size: beam, nbest,
      attention: $("show-attention").checked, glossary: glossary(),
    };
    if ($("api-key").value) body.api_key = $("api-key").value;
    const answer = await answerOf(await fetch("/v1/translate", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }));
    show(answer.translations[0], target, nbest);
  });
}

async function translateFile() {
  const file = $("file").files[0];
  if (!file) return status("Choose a file first", true);
  const { source, target } = direction();
  $("file-link").hidden = true;
  await busy($("translate-file"), async () => {
    const form = new FormData();
    form.append("file", file);
    form.append("source", source);
    form.append("target", target);
    form.append("glossary", JSON.stringify(glossary()));
    if ($("api-key").value) form.append("api_key", $("api-key").value);
    const answer = await answerOf(await fetch("/translate_file", { method: "POST", body: form }));
    $("file-link").href = answer.translatedFileUrl;
    $("file-link").download = file.name;
    $("file-link").hidden = false;
  });
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function show(translation, target, nbest) {
  $("translation").value = translation.candidates[0].text;
  const list = $("candidates");
  list.replaceChildren();
  for (const candidate of translation.candidates) {
    const item = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = candidate.text;
    setTextDirection(text, target);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = candidate.score === null ? "" : candidate.score.toFixed(3);
    item.append(text, score);
    list.append(item);
  }
  $("nbest-section").hidden = nbest < 2;
  attention = translation.attention || [];
  $("attention-section").hidden = attention.length === 0;
  $("sentence").replaceChildren(...attention.map((a, i) => new Option(`${i + 1}: ${a.source}`, i)));
  const layers = attention.length ? attention[0].layers.length : 0;
  $("layer").replaceChildren(...Array.from({ length: layers }, (_, i) => new Option(`${i + 1}`, i)));
  $("layer").value = String(Math.max(0, layers - 1));
  drawHeatmap();
}

function drawHeatmap() {
  const container = $("heatmap");
  container.replaceChildren();
  const sentence = attention[Number($("sentence").value)];
  if (!sentence) return;
  const { source, target } = direction();
  const weights = sentence.layers[Number($("layer").value)];
  const table = document.createElement("table");
  table.className = "heatmap";
  table.dir = RTL.has(source) ? "rtl" : "ltr";  // source tokens in reading order
  const head = table.createTHead().insertRow();
  head.append(document.createElement("th"));
  for (const token of sentence.source_tokens) head.append(label("th", token, source));
  const body = table.createTBody();
  sentence.target_tokens.forEach((token, row) => {
    const line = body.insertRow();
    line.append(label("th", token, target));
    for (const weight of weights[row]) {
      const cell = line.insertCell();
      cell.style.background = `rgba(36, 71, 107, ${weight})`;
      cell.title = weight.toFixed(3);
    }
  });
  container.append(table);
}

function label(tag, token, language) {
  const element = document.createElement(tag);
  element.textContent = token.replaceAll("▁", " ").trim() || token;
  element.lang = language;
  element.dir = "auto";
  element.className = "token";
  return element;
}

document.addEventListener("DOMContentLoaded", () => {
  $("direction").addEventListener("change", directionChanged);
  $("swap").addEventListener("click", swap);
  $("form").addEventListener("submit", translate);
  $("translate-file").addEventListener("click", translateFile);
  $("sentence").addEventListener("change", drawHeatmap);
  $("layer").addEventListener("change", drawHeatmap);
  loadLanguages().catch((error) => status(`Cannot load the languages: ${error.message}`, true));
});
