// Telegram message text as DOM nodes, never as parsed HTML.
//
// The emulator keeps what Telegram would: the plain text after the bot's HTML was
// parsed, and entities (bold, links, code...) with offsets in UTF-16 code units.
// JavaScript strings are UTF-16 too, so offsets index them directly. Every piece of
// text becomes a Text node and every entity one element from a fixed list, so no
// markup in a message, whoever wrote it, can add an element, an attribute or a script.
"use strict";

(function () {
  const SAFE_SCHEMES = ["http:", "https:"];

  function safeUrl(raw) {
    try {
      const url = new URL(String(raw));
      return SAFE_SCHEMES.includes(url.protocol) ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function elementFor(entity, text) {
    switch (entity.type) {
      case "bold": return document.createElement("strong");
      case "italic": return document.createElement("em");
      case "underline": return document.createElement("u");
      case "strikethrough": return document.createElement("s");
      case "code": return document.createElement("code");
      case "pre": {
        const pre = document.createElement("pre");
        if (entity.language) pre.dataset.language = String(entity.language);
        return pre;
      }
      case "blockquote":
      case "expandable_blockquote": return document.createElement("blockquote");
      case "spoiler": {
        const span = document.createElement("span");
        span.className = "spoiler";
        span.tabIndex = 0;
        span.addEventListener("click", () => span.classList.add("revealed"));
        return span;
      }
      case "text_link":
      case "url": {
        const href = safeUrl(entity.type === "url"
          ? text.slice(entity.offset, entity.offset + entity.length)
          : entity.url);
        if (!href) return document.createElement("span");
        const link = document.createElement("a");
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        return link;
      }
      default: return document.createElement("span");
    }
  }

  // Entities nest as the HTML tags they came from; one that overlaps its parent's end
  // is cut there, one that overlaps an earlier sibling is dropped (its text stays).
  function build(parent, text, entities, start, end) {
    let pos = start;
    let i = 0;
    while (i < entities.length) {
      const entity = entities[i];
      if (entity.offset < pos) { i += 1; continue; }
      if (entity.offset > pos) parent.append(text.slice(pos, entity.offset));
      const stop = Math.min(entity.offset + entity.length, end);
      const inner = [];
      let j = i + 1;
      while (j < entities.length && entities[j].offset < stop) { inner.push(entities[j]); j += 1; }
      const element = elementFor(entity, text);
      build(element, text, inner, entity.offset, stop);
      parent.append(element);
      pos = stop;
      i = j;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  }

  function render(text, entities) {
    const fragment = document.createDocumentFragment();
    const plain = String(text ?? "");
    const valid = (Array.isArray(entities) ? entities : [])
      .filter((e) => e && Number.isInteger(e.offset) && Number.isInteger(e.length)
        && e.length > 0 && e.offset >= 0 && e.offset < plain.length)
      .sort((a, b) => a.offset - b.offset || b.length - a.length);
    build(fragment, plain, valid, 0, plain.length);
    return fragment;
  }

  window.TelegramText = { render, safeUrl };
})();
