// The playground page: one column per persona, a chat client over the page's JSON API.
//
// The server (bot/playground_page.py) keeps everything: personas, chats, the clock.
// The page keeps only what it shows, rebuilt from the event log, so a reload shows
// the same chats. Messages are drawn by render.js from plain text and entities.
"use strict";

(function () {
  const LOCALES = ["zh_CN", "en"];
  const MAX_UPLOAD_BYTES = 20 * 1024 * 1024; // what a bot may download from Telegram
  const ROLE_COLOURS = { enterprise: "c-enterprise", specialist: "c-specialist",
    coordinator: "c-coordinator", guest: "c-guest" };
  const state = {
    catalog: {}, locale: "zh_CN", timezone: "Asia/Shanghai",
    panes: new Map(), active: null, since: 0, demo: [],
  };

  // ------------------------------------------------------------------ helpers

  function t(key, params) {
    const text = state.catalog[key];
    if (typeof text !== "string") return key;
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      params && name in params ? String(params[name]) : whole);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A node whose text follows the language toggle.
  function translated(tag, className, key, params) {
    const node = el(tag, className, t(key, params));
    node.dataset.i18n = key;
    if (params) node.dataset.i18nParams = JSON.stringify(params);
    return node;
  }

  async function api(path, body) {
    const init = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    let response;
    try {
      response = await fetch(path, init);
    } catch (_) {
      throw new Error(t("error.network"));
    }
    const data = await response.json().catch(() => ({ ok: false, description: response.statusText }));
    if (!data.ok) throw new Error(data.description || String(response.status));
    return data.result;
  }

  function notify(text, sticky) {
    const notice = document.getElementById("notice");
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(notify.timer);
    if (!sticky) notify.timer = setTimeout(() => { notice.hidden = true; }, 6000);
  }

  function formatTime(unixSeconds) {
    const options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: state.timezone };
    return new Intl.DateTimeFormat(state.catalog.lang || "zh-CN", options).format(unixSeconds * 1000);
  }

  function formatDay(unixSeconds) {
    const options = { month: "short", day: "numeric", weekday: "short", timeZone: state.timezone };
    return new Intl.DateTimeFormat(state.catalog.lang || "zh-CN", options).format(unixSeconds * 1000);
  }

  function dayKey(unixSeconds) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: state.timezone }).format(unixSeconds * 1000);
  }

  // ------------------------------------------------------------------ language

  async function setLocale(locale) {
    const response = await fetch(`/static/i18n/${locale}.json`);
    state.catalog = await response.json();
    state.locale = locale;
    try { localStorage.setItem("playground.locale", locale); } catch (_) { /* private mode */ }
    applyCatalog(document);
  }

  function applyCatalog(root) {
    document.documentElement.lang = state.catalog.lang;
    document.title = `${t("title")} · techmatch`;
    root.querySelectorAll("[data-i18n]").forEach((node) => {
      const params = node.dataset.i18nParams ? JSON.parse(node.dataset.i18nParams) : undefined;
      node.textContent = t(node.dataset.i18n, params);
    });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    });
    root.querySelectorAll("[data-i18n-aria]").forEach((node) => {
      node.setAttribute("aria-label", t(node.dataset.i18nAria));
    });
    root.querySelectorAll("[data-i18n-title]").forEach((node) => {
      node.title = t(node.dataset.i18nTitle);
    });
    root.querySelectorAll("[data-day]").forEach((node) => {
      node.textContent = formatDay(Number(node.dataset.day));
    });
    const toggle = document.getElementById("lang-toggle");
    toggle.textContent = state.catalog.toggle;
    toggle.lang = state.catalog.toggle_to === "en" ? "en" : "zh-CN";
    if (state.clock) showClock(state.clock);
  }

  // ------------------------------------------------------------------ the composer

  // A column's composer: Enter sends and Shift+Enter starts a new line (answers that take
  // one item a line), as in Telegram's desktop apps; an Enter that only ends an input
  // method's composition (pinyin) sends nothing. The box grows with its lines. The paper
  // clip sends a file; with `captions`, the text in the box goes along as its caption.
  function composer(root, { onText, onFile, toast, captions }) {
    const form = root.querySelector(".composer");
    const input = form.querySelector("textarea[name=text]");
    const picker = form.querySelector(".attach-input");
    const fit = () => {
      input.style.height = ""; // one line, as the style sheet says
      // An empty box stays so even when its placeholder would wrap.
      if (!input.value || input.scrollHeight <= input.clientHeight) return;
      input.style.height = `${input.scrollHeight + input.offsetHeight - input.clientHeight}px`;
    };
    const take = () => {
      const text = input.value.trim();
      input.value = "";
      fit();
      return text;
    };
    input.addEventListener("input", fit);
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      form.requestSubmit();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.value.trim()) onText(take());
    });
    form.querySelector(".attach-button").addEventListener("click", () => picker.click());
    picker.addEventListener("change", () => {
      const [file] = picker.files;
      picker.value = "";
      if (!file) return;
      if (file.size > MAX_UPLOAD_BYTES) {
        toast(t("attach.too_big", { mb: MAX_UPLOAD_BYTES / 1024 / 1024 }));
        return;
      }
      onFile(file, captions ? take() : "");
    });
    return input;
  }

  // How Telegram's apps send a file: pictures as photos, recordings as voice notes,
  // anything else as a document.
  function attachmentKind(file) {
    if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) return "photo";
    if (file.type.startsWith("audio/")) return "voice";
    return "document";
  }

  async function voiceSeconds(buffer) {
    try {
      const audio = await new OfflineAudioContext(1, 1, 8000).decodeAudioData(buffer.slice(0));
      return Math.max(1, Math.round(audio.duration));
    } catch (_) {
      return 1; // a format this browser cannot decode: the bot is told one second
    }
  }

  function base64(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  // A file the person sent, as their own bubble shows it (the bot has the bytes).
  function sentFile(kind, name, size, seconds) {
    const box = el("div", "document sent-file");
    box.dataset.kind = kind;
    box.append(el("span", "doc-icon", { photo: "🖼", voice: "🎤" }[kind] || "📄"));
    const info = el("div", "doc-info");
    if (kind === "voice") info.append(translated("div", "doc-name", "attach.voice", { seconds: seconds || 1 }));
    else if (kind === "photo") info.append(translated("div", "doc-name", "attach.photo"));
    else info.append(el("div", "doc-name", name || "file"));
    if (size) info.append(el("div", "doc-size", `${Math.max(1, Math.round(size / 1024))} KB`));
    box.append(info);
    return box;
  }

  // ------------------------------------------------------------------ the clock

  function showClock(clock) {
    state.clock = clock;
    const weekday = (state.catalog.weekdays || [])[clock.weekday] || "";
    document.getElementById("clock-time").textContent = `${clock.display} ${weekday}`;
    document.getElementById("clock-time").dateTime = clock.now;
    const offset = document.getElementById("clock-offset");
    const hours = Math.round(clock.offset_seconds / 3600);
    offset.hidden = hours < 1;
    const duration = hours >= 24
      ? t("clock.days", { n: Math.round(hours / 24 * 10) / 10 })
      : t("clock.hours", { n: hours });
    offset.textContent = t("clock.ahead", { duration });
  }

  async function advance(seconds, button) {
    button.disabled = true;
    try {
      const result = await api("/api/clock/advance", { seconds });
      showClock(result.clock);
      const time = `${result.clock.display}`;
      notify(result.ran.length
        ? t("clock.ran", { time, jobs: result.ran.join(", ") })
        : t("clock.ran_none", { time }));
    } catch (error) {
      notify(t("error.action", { reason: error.message }));
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ one persona's column

  class Pane {
    constructor(persona) {
      this.persona = persona;
      this.lastSeq = 0;
      this.lastDay = null;
      this.items = new Map(); // message_id -> <li>
      const root = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
      this.root = root;
      root.dataset.persona = String(persona.user_id);
      root.id = `pane-${persona.user_id}`;
      const colour = ROLE_COLOURS[persona.role] || ROLE_COLOURS.guest;
      root.classList.add(colour);
      root.querySelector(".avatar").textContent = Array.from(persona.name)[0] || "?";
      root.querySelector(".name").textContent = persona.name;
      const meta = root.querySelector(".meta");
      meta.textContent = [persona.detail, persona.phone].filter(Boolean).join(" · ");
      const badge = root.querySelector(".role-badge");
      badge.dataset.i18n = `role.${persona.role}`;
      this.list = root.querySelector(".messages");
      this.empty = translated("li", "empty-hint", "message.empty");
      this.list.append(this.empty);
      this.keyboard = root.querySelector(".reply-keyboard");
      this.commands = root.querySelector(".commands");
      this.toast = root.querySelector(".toast");
      this.input = composer(root, {
        onText: (text) => {
          this.hideCommands();
          this.send(`/api/chats/${persona.user_id}/message`, { text });
        },
        onFile: (file, caption) => this.attach(file, caption),
        toast: (text) => this.showToast(text, false),
        captions: true,
      });
      root.querySelector(".menu-button").addEventListener("click", () => this.toggleCommands());
      this.input.addEventListener("input", () => {
        if (this.input.value === "/") this.showCommands();
        else if (!this.input.value.startsWith("/")) this.hideCommands();
      });
      this.tab = el("button", `tab ${colour}`);
      this.tab.type = "button";
      this.tab.setAttribute("role", "tab");
      this.tab.dataset.persona = String(persona.user_id);
      this.tab.append(el("span", "tab-name", persona.name), el("span", "unread"));
      this.tab.addEventListener("click", () => activate(persona.user_id));
      applyCatalog(root);
    }

    async send(path, body) {
      try {
        await api(path, body);
      } catch (error) {
        this.showToast(t("error.action", { reason: error.message }), false);
      }
    }

    async attach(file, caption) {
      const kind = attachmentKind(file);
      const buffer = await file.arrayBuffer();
      const body = { kind, name: file.name, mime_type: file.type, data: base64(buffer), caption };
      if (kind === "voice") body.duration = await voiceSeconds(buffer);
      await this.send(`/api/chats/${this.persona.user_id}/attachment`, body);
    }

    // --- events

    apply(event) {
      if (event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
      switch (event.kind) {
        case "user_message": this.upsert(event.message_id, this.userBubble(event.payload), event.payload.date); break;
        case "bot_message":
        case "bot_edit": this.upsert(event.message.message_id, this.botBubble(event.message), event.message.date); break;
        case "message_deleted": this.remove(event.message_id); break;
        case "callback_answer":
          if (event.answer && event.answer.text) this.showToast(event.answer.text, event.answer.show_alert);
          break;
        default: break;
      }
    }

    upsert(messageId, bubble, date) {
      const old = this.items.get(messageId);
      if (old) { old.replaceWith(bubble); } else {
        this.empty.remove();
        const day = dayKey(date);
        if (day !== this.lastDay) {
          this.lastDay = day;
          const separator = el("li", "day");
          separator.dataset.day = String(date);
          separator.textContent = formatDay(date);
          this.list.append(separator);
        }
        this.list.append(bubble);
        if (this.persona.user_id !== state.active) this.tab.classList.add("has-unread");
      }
      this.items.set(messageId, bubble);
      this.list.scrollTop = this.list.scrollHeight;
    }

    remove(messageId) {
      const item = this.items.get(messageId);
      if (item) { item.remove(); this.items.delete(messageId); }
    }

    userBubble(payload) {
      const li = el("li", "msg from-user");
      const bubble = el("div", "bubble");
      if (typeof payload.text === "string") {
        bubble.append(TelegramText.render(payload.text, payload.entities));
      } else if (payload.contact) {
        bubble.append(translated("span", "contact", "message.contact", { phone: payload.contact.phone_number }));
      } else if (payload.photo || payload.voice || payload.document) {
        if (payload.photo) {
          const largest = payload.photo[payload.photo.length - 1] || {};
          bubble.append(sentFile("photo", "", largest.file_size));
        } else if (payload.voice) {
          bubble.append(sentFile("voice", "", 0, payload.voice.duration));
        } else {
          bubble.append(sentFile("document", payload.document.file_name, payload.document.file_size));
        }
        if (payload.caption) {
          const caption = el("div", "text");
          caption.append(TelegramText.render(payload.caption, payload.caption_entities));
          bubble.append(caption);
        }
      } else {
        const kind = Object.keys(payload).find((k) => !["message_id", "from", "chat", "date"].includes(k)) || "?";
        bubble.append(translated("span", "other", "message.other", { kind }));
      }
      bubble.append(el("time", "stamp", formatTime(payload.date)));
      li.append(bubble);
      return li;
    }

    botBubble(message) {
      const li = el("li", "msg from-bot");
      li.dataset.messageId = String(message.message_id);
      const bubble = el("div", "bubble");
      if (message.file) bubble.append(this.attachment(message));
      const text = el("div", "text");
      text.append(TelegramText.render(message.text, message.entities));
      bubble.append(text);
      const stamp = el("time", "stamp", formatTime(message.date));
      if (message.edited) stamp.prepend(translated("span", "edited", "message.edited"), " ");
      bubble.append(stamp);
      li.append(bubble);
      const rows = (message.reply_markup && message.reply_markup.inline_keyboard) || [];
      if (rows.length) li.append(this.inlineKeyboard(message.message_id, rows));
      return li;
    }

    attachment(message) {
      const file = message.file;
      const url = `/api/chats/${this.persona.user_id}/files/${message.message_id}`;
      // The emulator names its own copy of uploads; a URL the bot passed on is never fetched.
      const uploaded = !file.url || file.url.startsWith("/_emulator/");
      if (message.kind === "photo" && uploaded) {
        const img = el("img", "photo");
        img.src = url;
        img.alt = file.filename || "";
        img.loading = "lazy";
        return img;
      }
      const box = el("div", "document");
      box.append(el("span", "doc-icon", "📄"));
      const info = el("div", "doc-info");
      info.append(el("div", "doc-name", file.filename || "file"),
        el("div", "doc-size", `${Math.max(1, Math.round(file.size / 1024))} KB`));
      box.append(info);
      if (uploaded) {
        const link = translated("a", "doc-download", "message.download");
        link.href = url;
        link.setAttribute("download", file.filename || "");
        box.append(link);
      }
      return box;
    }

    inlineKeyboard(messageId, rows) {
      const keyboard = el("div", "inline-keyboard");
      for (const row of rows) {
        const line = el("div", "kb-row");
        for (const button of row) {
          let node;
          const href = button.url ? TelegramText.safeUrl(button.url) : null;
          if (href) {
            node = el("a", "kb-button link", button.text);
            node.href = href;
            node.target = "_blank";
            node.rel = "noopener noreferrer";
          } else {
            node = el("button", "kb-button", button.text);
            node.type = "button";
            if (typeof button.callback_data === "string") {
              node.addEventListener("click", () => {
                node.classList.add("pressed");
                this.send(`/api/chats/${this.persona.user_id}/press`,
                  { message_id: messageId, callback_data: button.callback_data });
              });
            } else {
              node.disabled = true;
            }
          }
          line.append(node);
        }
        keyboard.append(line);
      }
      return keyboard;
    }

    setReplyKeyboard(rows) {
      this.keyboard.replaceChildren();
      this.keyboard.hidden = !rows || !rows.length;
      if (this.keyboard.hidden) return;
      for (const row of rows) {
        const line = el("div", "kb-row");
        for (const button of row) {
          const node = el("button", "kb-button reply", button.text);
          node.type = "button";
          if (button.request_contact) {
            node.classList.add("contact");
            node.title = t("keyboard.contact", { phone: this.persona.phone });
            node.addEventListener("click", () => this.send(`/api/chats/${this.persona.user_id}/contact`, {}));
          } else {
            node.addEventListener("click", () =>
              this.send(`/api/chats/${this.persona.user_id}/message`, { text: button.text }));
          }
          line.append(node);
        }
        this.keyboard.append(line);
      }
    }

    showToast(text, sticky) {
      this.toast.textContent = text;
      this.toast.hidden = false;
      this.toast.classList.toggle("alert", Boolean(sticky));
      clearTimeout(this.toastTimer);
      if (!sticky) this.toastTimer = setTimeout(() => { this.toast.hidden = true; }, 3500);
      this.toast.onclick = () => { this.toast.hidden = true; };
    }

    // --- the command menu (what setMyCommands gave this user)

    async showCommands() {
      const list = this.commands.querySelector("ul");
      try {
        const commands = await api(`/api/chats/${this.persona.user_id}/commands`);
        list.replaceChildren();
        if (!commands.length) list.append(translated("li", "none", "commands.none"));
        for (const command of commands) {
          const item = el("li");
          const button = el("button", "command");
          button.type = "button";
          button.append(el("span", "command-name", `/${command.command}`),
            el("span", "command-description", command.description));
          button.addEventListener("click", () => {
            this.hideCommands();
            this.input.value = "";
            this.send(`/api/chats/${this.persona.user_id}/message`, { text: `/${command.command}` });
          });
          item.append(button);
          list.append(item);
        }
        this.commands.hidden = false;
      } catch (error) {
        this.showToast(error.message, false);
      }
    }

    hideCommands() { this.commands.hidden = true; }

    toggleCommands() {
      if (this.commands.hidden) this.showCommands(); else this.hideCommands();
    }
  }

  // ------------------------------------------------------------------ WeCom, Feishu and DingTalk columns

  // A person on a platform whose emulator keeps their chat: the column asks for it every
  // moment and redraws it when it changed (a card updated in place stays where it was).
  // Such platforms have no command menu or share-contact button, and no captions.
  class MemberPane {
    constructor(persona, { platform, account, api: base, empty }) {
      this.persona = persona;
      this.key = `${platform}:${account}`;
      this.path = `${base}/${encodeURIComponent(account)}`;
      this.drawn = "";
      const colour = ROLE_COLOURS[persona.role] || ROLE_COLOURS.guest;
      const root = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
      this.root = root;
      root.classList.add(colour, platform);
      root.dataset.persona = this.key;
      root.querySelector(".avatar").textContent = Array.from(persona.name)[0] || "?";
      root.querySelector(".name").textContent = persona.name;
      root.querySelector(".meta").dataset.i18n = `${platform}.platform`;
      root.querySelector(".role-badge").dataset.i18n = `role.${persona.role}`;
      root.querySelector(".menu-button").remove();
      this.list = root.querySelector(".messages");
      this.list.append(translated("li", "empty-hint", empty));
      this.toast = root.querySelector(".toast");
      // A file goes alone, the text stays in the box.
      this.input = composer(root, {
        onText: (text) => this.act(`${this.path}/message`, { text }),
        onFile: (file) => this.act(`${this.path}/attachment`, { kind: attachmentKind(file), name: file.name }),
        toast: (text) => this.showToast(text),
        captions: false,
      });
      this.input.dataset.i18nPlaceholder = `${platform}.placeholder`;
      this.tab = el("button", `tab ${colour}`);
      this.tab.type = "button";
      this.tab.setAttribute("role", "tab");
      this.tab.dataset.persona = this.key;
      this.tab.append(el("span", "tab-name", `${persona.name} · `),
        translated("span", "tab-platform", `${platform}.short`), el("span", "unread"));
      this.tab.addEventListener("click", () => activate(this.key));
      applyCatalog(root);
    }

    async act(path, body) {
      try {
        const result = await api(path, body);
        await this.refresh();
        return result;
      } catch (error) {
        this.showToast(t("error.action", { reason: error.message }));
        return null;
      }
    }

    showToast(text, alert) {
      this.toast.textContent = text;
      this.toast.hidden = false;
      this.toast.classList.toggle("alert", Boolean(alert));
      clearTimeout(this.toastTimer);
      this.toastTimer = setTimeout(() => { this.toast.hidden = true; }, 3500);
    }

    async refresh() {
      const result = await api(this.path);
      const drawn = JSON.stringify(result.messages);
      if (drawn === this.drawn) return;
      this.drawn = drawn;
      if (!result.messages.length) return;
      this.list.replaceChildren(...result.messages.map((m) => this.bubble(m)));
      this.list.scrollTop = this.list.scrollHeight;
      if (state.active !== this.key) this.tab.classList.add("has-unread");
    }

    bubble(message) {
      const li = el("li", `msg ${message.from === "member" ? "from-user" : "from-bot"}`);
      const bubble = el("div", "bubble");
      if (message.from === "member" && message.kind) {
        bubble.append(sentFile(message.kind, message.name));
      } else if (message.from === "member" || message.kind === "text") {
        bubble.append(el("div", "text", message.text));
      } else {
        this.botMessage(li, bubble, message);
      }
      li.append(bubble);
      return li;
    }

    botMessage(li, bubble, message) {
      bubble.append(translated("span", "other", "message.other", { kind: message.kind }));
    }
  }

  // The same programme on WeCom: texts, and template cards whose buttons grey out once the
  // bot has answered a click. WeCom shows no toasts.
  class WeComPane extends MemberPane {
    constructor(persona) {
      super(persona, { platform: "wecom", account: persona.userid, api: "/api/wecom", empty: "wecom.empty" });
    }

    botMessage(li, bubble, message) {
      if (message.kind !== "template_card") {
        super.botMessage(li, bubble, message);
        return;
      }
      li.classList.add("card");
      const [title, ...rest] = message.text.split("\n");
      bubble.append(el("div", "card-title", title));
      if (rest.length) bubble.append(el("div", "text", rest.join("\n")));
      const buttons = el("div", "card-buttons");
      if (message.greyed) {
        const done = el("button", "kb-button", message.greyed);
        done.type = "button";
        done.disabled = true;
        buttons.append(done);
      } else {
        for (const button of message.buttons) {
          const node = el("button", "kb-button", button.label);
          node.type = "button";
          node.addEventListener("click", () => {
            node.classList.add("pressed");
            this.act(`${this.path}/click`, { task_id: message.task_id, key: button.key });
          });
          buttons.append(node);
        }
      }
      bubble.append(buttons);
    }
  }

  // The same programme on Feishu (飞书): every view a white card, its texts and its buttons
  // in rows as the card's column sets lay them out; the bot updates a card in place (a
  // clicked card loses its buttons), and a click's answer shows briefly as a toast.
  class FeishuPane extends MemberPane {
    constructor(persona) {
      super(persona, { platform: "feishu", account: persona.open_id, api: "/api/feishu", empty: "feishu.empty" });
    }

    botMessage(li, bubble, message) {
      if (message.kind === "interactive") {
        li.classList.add("card", "feishu-card");
        for (const element of message.elements || []) {
          if (element.buttons) {
            const row = el("div", "kb-row card-row");
            for (const button of element.buttons) {
              const node = el("button", "kb-button", button.label);
              node.type = "button";
              node.addEventListener("click", () => this.click(node, message.message_id, button.value));
              row.append(node);
            }
            bubble.append(row);
          } else {
            bubble.append(el("div", element.title ? "card-title" : "text", element.text));
          }
        }
      } else if (message.kind === "image") {
        const img = el("img", "photo");
        img.src = message.url;
        img.alt = message.name || "";
        img.loading = "lazy";
        bubble.append(img);
      } else if (message.kind === "file") {
        const box = el("div", "document");
        box.append(el("span", "doc-icon", "📄"));
        const info = el("div", "doc-info");
        info.append(el("div", "doc-name", message.name || "file"),
          el("div", "doc-size", `${Math.max(1, Math.round(message.size / 1024))} KB`));
        const link = translated("a", "doc-download", "message.download");
        link.href = message.url;
        link.setAttribute("download", message.name || "");
        box.append(info, link);
        bubble.append(box);
      } else {
        super.botMessage(li, bubble, message);
      }
    }

    async click(node, messageId, value) {
      node.classList.add("pressed");
      const result = await this.act(`${this.path}/click`, { message_id: messageId, value });
      const toast = result && result.toast;
      if (toast && toast.content) this.showToast(toast.content, toast.type === "warning" || toast.type === "error");
    }
  }

  // The same programme on DingTalk (钉钉): every view a card of the channel's template, its
  // text and its buttons; the bot updates a card in place (a clicked card loses its buttons).
  // A DingTalk card shows no toast: the bot answers a click with a short message.
  class DingTalkPane extends MemberPane {
    constructor(persona) {
      super(persona, { platform: "dingtalk", account: persona.userid, api: "/api/dingtalk", empty: "dingtalk.empty" });
    }

    botMessage(li, bubble, message) {
      if (message.kind === "card") {
        li.classList.add("card", "dingtalk-card");
        // The template draws its title, the view's first line, above the rest.
        const [title, ...rest] = message.text.split("\n");
        bubble.append(el("div", "card-title", title));
        if (rest.join("").trim()) bubble.append(el("div", "text", rest.join("\n").trim()));
        if (message.buttons.length) {
          const buttons = el("div", "card-buttons");
          for (const button of message.buttons) {
            const node = el("button", "kb-button", button.label);
            node.type = "button";
            node.addEventListener("click", () => {
              node.classList.add("pressed");
              this.act(`${this.path}/click`, { out_track_id: message.out_track_id, params: button.params });
            });
            buttons.append(node);
          }
          bubble.append(buttons);
        }
      } else if (message.kind === "markdown" || message.kind === "link" || message.kind === "action_card") {
        bubble.append(el("div", "text", message.text));
      } else if (message.kind === "file") {
        const box = el("div", "document");
        box.append(el("span", "doc-icon", "📄"));
        const info = el("div", "doc-info");
        info.append(el("div", "doc-name", message.name || "file"),
          el("div", "doc-size", `${Math.max(1, Math.round(message.size / 1024))} KB`));
        const link = translated("a", "doc-download", "message.download");
        link.href = message.url;
        link.setAttribute("download", message.name || "");
        box.append(info, link);
        bubble.append(box);
      } else {
        super.botMessage(li, bubble, message);
      }
    }
  }

  async function refreshMembersForever() {
    for (;;) {
      for (const pane of state.panes.values()) {
        if (pane instanceof MemberPane) {
          try { await pane.refresh(); } catch (_) { /* the main poll reports the network */ }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  }

  function addMemberPane(pane) {
    if (state.panes.has(pane.key)) return state.panes.get(pane.key);
    state.panes.set(pane.key, pane);
    document.getElementById("panes").append(pane.root);
    document.getElementById("tabs").append(pane.tab);
    return pane;
  }

  // ------------------------------------------------------------------ personas and the poll

  function addPane(persona) {
    if (state.panes.has(persona.user_id)) return state.panes.get(persona.user_id);
    const pane = new Pane(persona);
    state.panes.set(persona.user_id, pane);
    document.getElementById("panes").append(pane.root);
    document.getElementById("tabs").append(pane.tab);
    if (state.active === null) activate(persona.user_id);
    return pane;
  }

  function activate(userId) {
    state.active = userId;
    for (const [id, pane] of state.panes) {
      const on = id === userId;
      pane.root.classList.toggle("active", on);
      pane.tab.classList.toggle("active", on);
      pane.tab.setAttribute("aria-selected", String(on));
      if (on) {
        pane.tab.classList.remove("has-unread");
        // A hidden column (tabs on a phone) has no height to scroll while messages arrive:
        // shown, it opens at the newest, as a chat app does.
        pane.list.scrollTop = pane.list.scrollHeight;
      }
    }
  }

  async function loadHistory(pane) {
    const result = await api(`/api/chats/${pane.persona.user_id}?since=0`);
    result.events.forEach((event) => pane.apply(event));
    pane.setReplyKeyboard(result.reply_keyboard);
  }

  async function pollForever() {
    let failures = 0;
    for (;;) {
      try {
        const result = await api(`/api/events?since=${state.since}&wait=25`);
        for (const event of result.events) {
          const pane = state.panes.get(event.chat_id);
          if (pane) pane.apply(event);
        }
        for (const [id, rows] of Object.entries(result.keyboards)) {
          const pane = state.panes.get(Number(id));
          if (pane) pane.setReplyKeyboard(rows);
        }
        state.since = result.last_seq;
        document.body.dataset.seq = String(state.since); // how far the page has drawn (for tests)
        showClock(result.clock);
        if (failures) document.getElementById("notice").hidden = true;
        failures = 0;
      } catch (error) {
        failures += 1;
        notify(t("error.network"), true);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5, failures) * 1000));
      }
    }
  }

  function setUpPersonaDialog() {
    const dialog = document.getElementById("persona-dialog");
    const form = document.getElementById("persona-form");
    const error = document.getElementById("persona-error");
    // Feishu and DingTalk tell the bot no language, and the demo people are on Telegram.
    const platformChanged = () => {
      const member = form.elements.platform.value !== "telegram";
      document.getElementById("persona-language").hidden = member;
      document.getElementById("demo-choice").hidden = member || state.demo.length === 0;
    };
    form.elements.platform.addEventListener("change", platformChanged);
    document.getElementById("add-persona").addEventListener("click", () => {
      const select = form.elements.demo_id;
      select.querySelectorAll("option:not([value=''])").forEach((o) => o.remove());
      for (const person of state.demo.filter((p) => !state.panes.has(p.telegram_id))) {
        const option = el("option", "", `${person.name} · ${person.detail}`);
        option.value = String(person.telegram_id);
        select.append(option);
      }
      error.hidden = true;
      form.reset();
      platformChanged();
      dialog.showModal();
      form.elements.name.focus();
    });
    form.addEventListener("submit", async (event) => {
      if (event.submitter && event.submitter.value !== "add") return;
      event.preventDefault();
      const platform = form.elements.platform.value;
      const demoId = platform === "telegram" ? form.elements.demo_id.value : "";
      const name = form.elements.name.value.trim();
      if (!demoId && !name) {
        error.textContent = t("persona.name_needed");
        error.hidden = false;
        return;
      }
      let body = { name, language_code: form.elements.language_code.value };
      if (platform !== "telegram") body = { name, platform };
      else if (demoId) body = { demo_id: Number(demoId) };
      try {
        const persona = await api("/api/personas", body);
        dialog.close();
        let pane;
        if (platform !== "telegram") {
          const Kind = platform === "feishu" ? FeishuPane : DingTalkPane;
          pane = addMemberPane(new Kind(persona));
          activate(pane.key);
          await pane.refresh();
        } else {
          pane = addPane(persona);
          activate(persona.user_id);
          await loadHistory(pane);
        }
        pane.root.scrollIntoView({ behavior: "smooth", inline: "end", block: "nearest" });
        pane.input.focus();
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      }
    });
  }

  async function main() {
    let saved = null;
    try { saved = localStorage.getItem("playground.locale"); } catch (_) { /* private mode */ }
    // Chinese first: the programme's own language; the toggle remembers another choice.
    await setLocale(LOCALES.includes(saved) ? saved : "zh_CN");
    document.getElementById("lang-toggle").addEventListener("click", () => setLocale(state.catalog.toggle_to));
    document.querySelectorAll("[data-advance]").forEach((button) => {
      button.addEventListener("click", () => advance(Number(button.dataset.advance), button));
    });
    setUpPersonaDialog();
    const initial = await api("/api/state");
    state.timezone = initial.timezone;
    state.demo = initial.demo_people;
    showClock(initial.clock);
    initial.personas.forEach(addPane);
    initial.wecom_personas.forEach((member) => addMemberPane(new WeComPane(member)));
    initial.feishu_personas.forEach((user) => addMemberPane(new FeishuPane(user)));
    initial.dingtalk_personas.forEach((member) => addMemberPane(new DingTalkPane(member)));
    document.body.classList.add("ready");
    pollForever();
    refreshMembersForever();
  }

  main().catch((error) => notify(error.message, true));
})();
