// Herald's Mini App: plain JavaScript, no build step. Works inside Telegram (through
// telegram-web-app.js) and in an ordinary browser (no script: a public front page).
(function () {
  "use strict";

  const tg = window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;
  const DEBOUNCE_MS = 250;
  const $ = (id) => document.getElementById(id);

  // Telegram passes the signed initData in the URL hash; its script reads it, and so do we
  // when the script is absent (the sandbox's link carries one for its reader).
  function readInitData() {
    if (tg && tg.initData) return tg.initData;
    const hash = new URLSearchParams(location.hash.slice(1));
    return hash.get("tgWebAppData") || "";
  }

  const initData = readInitData();
  const state = {
    strings: {},
    language: "",
    user: null,
    view: "latest",
    listView: "latest",
    topic: 0,
    latestPage: 0,
    latestMore: false,
    latestLoading: false,
    query: "",
    searchPage: 0,
    searchSeq: 0,
    article: null,
    mine: null,
  };
  // Timings a test or a curious reader can read: debounce fired → results on screen.
  const timings = (window.__herald = { searches: [] });

  function t(key, values) {
    let text = state.strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
    return text;
  }

  async function api(path, options) {
    const headers = { Accept: "application/json" };
    if (initData) headers.Authorization = "tma " + initData;
    const init = Object.assign({ headers }, options || {});
    if (init.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(init.body);
    }
    let url = new URL("../api/" + path, location.href);
    if (!initData) url.searchParams.set("lang", state.language || navigator.language || "en");
    const response = await fetch(url, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
  }

  function failed(error) {
    toast(error && error.status === 401 ? t("expired") : t("error"));
  }

  // ---------------------------------------------------------------- theme

  function applyTheme() {
    if (!tg) return;
    const root = document.documentElement;
    root.classList.add("tg");
    const params = tg.themeParams || {};
    for (const [key, value] of Object.entries(params)) {
      if (typeof value === "string") root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
    }
    root.dataset.scheme = tg.colorScheme || "light";
  }

  // ---------------------------------------------------------------- strings

  async function loadStrings() {
    const data = await api("strings");
    state.strings = data.strings;
    state.language = data.language;
    state.user = data.user;
    state.languages = data.languages;
    document.documentElement.lang = data.language;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
    const select = $("set-language");
    select.length = 1;
    for (const [code, name] of Object.entries(data.languages)) select.add(new Option(name, code));
  }

  // ---------------------------------------------------------------- lists

  function headlineItem(item, withSnippet) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#a" + item.id;
    a.dataset.article = item.id;
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = item.title;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = [item.source, item.date].filter(Boolean).join(" · ");
    a.append(title, meta);
    if (withSnippet && item.snippet_html) {
      const snippet = document.createElement("span");
      snippet.className = "snippet";
      snippet.innerHTML = item.snippet_html; // escaped by the server; only <b> added
      a.append(snippet);
    }
    a.addEventListener("click", (event) => {
      event.preventDefault();
      openArticle(item.id);
    });
    li.append(a);
    return li;
  }

  async function loadTopics() {
    const data = await api("topics");
    const bar = $("topics");
    bar.replaceChildren();
    const chip = (label, id) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.dataset.topic = id;
      button.setAttribute("aria-pressed", String(id === state.topic));
      button.addEventListener("click", () => chooseTopic(id));
      bar.append(button);
    };
    chip(t("all_topics"), 0);
    for (const topic of data.topics) chip("#" + topic.name, topic.id);
    state.topics = data.topics;
  }

  function chooseTopic(id) {
    state.topic = id;
    for (const b of $("topics").querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.topic) === id));
    }
    loadLatest(true);
  }

  async function loadLatest(fresh) {
    if (state.latestLoading) return;
    state.latestLoading = true;
    const page = fresh ? 0 : state.latestPage + 1;
    try {
      const query = "latest?page=" + page + (state.topic ? "&topic=" + state.topic : "");
      const data = await api(query);
      const list = $("latest-list");
      if (fresh) list.replaceChildren();
      for (const item of data.items) list.append(headlineItem(item, false));
      state.latestPage = page;
      state.latestMore = data.has_next;
      $("latest-more").hidden = !data.has_next;
      $("latest-empty").hidden = list.children.length > 0;
    } catch (error) {
      failed(error);
    } finally {
      state.latestLoading = false;
    }
  }

  // ---------------------------------------------------------------- search

  let debounceTimer = null;
  function onSearchInput() {
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => runSearch($("search-input").value.trim(), 0), DEBOUNCE_MS);
  }

  async function runSearch(query, page) {
    const seq = ++state.searchSeq;
    const started = performance.now();
    state.query = query;
    if (!query) {
      $("search-list").replaceChildren();
      $("search-empty").hidden = true;
      $("search-more").hidden = true;
      return;
    }
    try {
      const data = await api("search?q=" + encodeURIComponent(query) + "&page=" + page);
      if (seq !== state.searchSeq) return; // a newer query is on its way
      const list = $("search-list");
      if (page === 0) list.replaceChildren();
      for (const item of data.items) list.append(headlineItem(item, true));
      state.searchPage = page;
      $("search-more").hidden = !data.has_next;
      const empty = $("search-empty");
      empty.hidden = list.children.length > 0;
      empty.textContent = t("nothing_found", { query });
      timings.searches.push({ query, ms: performance.now() - started, results: data.items.length });
    } catch (error) {
      failed(error);
    }
  }

  // ---------------------------------------------------------------- article

  async function openArticle(id) {
    if (state.view !== "article") {
      state.listView = state.view;
      state.scroll = window.scrollY;
    }
    try {
      const data = await api("article/" + id);
      state.article = data;
      renderArticle(data);
    } catch (error) {
      if (error.status !== 404) return failed(error);
      state.article = null;
      renderMissing();
    }
  }

  function renderMissing() {
    showView("article");
    for (const id of ["article", "related-heading"]) $(id).hidden = true;
    $("related-list").replaceChildren();
    $("article-missing").hidden = false;
    mainButton(null);
  }

  function renderArticle(a) {
    showView("article");
    $("article").hidden = false;
    $("article-missing").hidden = true;
    $("article-title").textContent = a.title;
    const by = a.authors.length ? t("by", { authors: a.authors.join(", ") }) : "";
    $("article-byline").textContent = [by, a.source].filter(Boolean).join(" · ");
    $("article-date").textContent = a.date;
    $("article-updated").textContent = a.updated ? "· ✏️ " + a.updated : "";
    const topics = $("article-topics");
    topics.replaceChildren(...a.topics.map((name) => {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = "#" + name;
      return chip;
    }));
    const image = $("article-image");
    image.hidden = !a.image_url;
    if (a.image_url) image.src = a.image_url; else image.removeAttribute("src");
    $("article-text").replaceChildren(...a.paragraphs.map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }));
    const link = $("article-link");
    link.hidden = !a.url;
    if (a.url) link.href = a.url;
    $("article-share").hidden = !a.share_url;
    $("related-heading").hidden = a.related.length === 0;
    $("related-list").replaceChildren(...a.related.map((item) => headlineItem(item, false)));
    window.scrollTo(0, 0);
    mainButton(a.url);
  }

  function openOriginal() {
    if (!state.article || !state.article.url) return;
    if (tg && tg.openLink) tg.openLink(state.article.url);
    else window.open(state.article.url, "_blank", "noopener");
  }

  function share() {
    const url = state.article && state.article.share_url;
    if (!url) return;
    if (tg && tg.openTelegramLink) tg.openTelegramLink(url);
    else window.open(url, "_blank", "noopener");
  }

  function mainButton(url) {
    if (!tg || !tg.MainButton) return;
    if (url) {
      tg.MainButton.setText(t("open_original"));
      tg.MainButton.show();
    } else {
      tg.MainButton.hide();
    }
  }

  function back() {
    showView(state.listView || "latest");
    window.scrollTo(0, state.scroll || 0);
  }

  // ---------------------------------------------------------------- mine

  async function loadMine() {
    if (!initData) {
      $("mine-guest").hidden = false;
      $("mine-panel").hidden = true;
      return;
    }
    try {
      renderMine(await api("me"));
    } catch (error) {
      failed(error);
    }
  }

  function renderMine(data) {
    state.mine = data;
    $("mine-guest").hidden = true;
    $("mine-panel").hidden = false;
    const list = $("subs-list");
    list.replaceChildren(...data.subscriptions.map((sub) => {
      const li = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = sub.label;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "✖ " + t("remove");
      remove.setAttribute("aria-label", t("remove") + " " + sub.label);
      remove.addEventListener("click", () => removeSubscription(sub.id));
      li.append(label, remove);
      return li;
    }));
    $("subs-empty").hidden = data.subscriptions.length > 0;
    const followed = new Set(data.subscriptions.filter((s) => s.topic_id).map((s) => s.topic_id));
    const adds = $("topic-adds");
    adds.replaceChildren(...data.topics.filter((topic) => !followed.has(topic.id)).map((topic) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "+ #" + topic.name;
      button.addEventListener("click", () => changeSubscriptions("subscribe", topic.name));
      return button;
    }));
    const s = data.settings;
    $("set-mode").value = s.mode;
    $("daily-row").hidden = s.mode !== "daily";
    $("set-daily").value = s.daily_at || "08:00";
    const quiet = $("set-quiet");
    const value = s.quiet || "off";
    if (![...quiet.options].some((o) => o.value === value)) quiet.add(new Option(value.replace("-", "–"), value));
    quiet.value = value;
    $("set-tz").value = s.tz;
    $("set-previews").checked = s.previews;
    $("set-language").value = s.language || "";
  }

  async function changeSubscriptions(action, text) {
    try {
      const data = await api("subscriptions", { method: "POST", body: { action, text } });
      $("subscribe-message").innerHTML = data.message_html; // Telegram-safe HTML from the server
      renderMine(data);
    } catch (error) {
      failed(error);
    }
  }

  async function removeSubscription(id) {
    try {
      renderMine(await api("subscriptions/" + id, { method: "DELETE" }));
    } catch (error) {
      failed(error);
    }
  }

  async function saveSetting(key, value) {
    try {
      renderMine(await api("settings", { method: "POST", body: { key, value } }));
      if (key === "language") {
        await loadStrings();
        renderMine(state.mine);
      }
      toast(t("saved"));
    } catch (error) {
      failed(error);
      if (state.mine) renderMine(state.mine);
    }
  }

  // ---------------------------------------------------------------- views

  function showView(name) {
    state.view = name;
    for (const view of ["latest", "search", "article", "mine"]) $("view-" + view).hidden = view !== name;
    for (const tab of document.querySelectorAll(".tabs button")) {
      tab.setAttribute("aria-selected", String(tab.dataset.view === name));
    }
    if (tg && tg.BackButton) {
      if (name === "article") tg.BackButton.show(); else tg.BackButton.hide();
    }
    if (name !== "article") mainButton(null);
  }

  function bind() {
    for (const tab of document.querySelectorAll(".tabs button")) {
      tab.addEventListener("click", () => {
        showView(tab.dataset.view);
        if (tab.dataset.view === "mine") loadMine();
        if (tab.dataset.view === "search") $("search-input").focus();
      });
    }
    $("latest-more").addEventListener("click", () => loadLatest(false));
    $("search-more").addEventListener("click", () => runSearch(state.query, state.searchPage + 1));
    $("search-input").addEventListener("input", onSearchInput);
    $("article-back").addEventListener("click", back);
    $("article-share").addEventListener("click", share);
    $("subscribe-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("subscribe-input");
      if (input.value.trim()) changeSubscriptions("subscribe", input.value.trim());
      input.value = "";
    });
    $("set-mode").addEventListener("change", (e) => saveSetting("mode", e.target.value));
    $("set-daily").addEventListener("change", (e) => e.target.value && saveSetting("daily_at", e.target.value));
    $("set-quiet").addEventListener("change", (e) => saveSetting("quiet", e.target.value));
    $("save-tz").addEventListener("click", () => saveSetting("timezone", $("set-tz").value.trim()));
    $("set-previews").addEventListener("change", (e) => saveSetting("previews", e.target.checked));
    $("set-language").addEventListener("change", (e) => saveSetting("language", e.target.value || null));
    if ("IntersectionObserver" in window) {
      new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting) && state.view === "latest" && state.latestMore) {
          loadLatest(false);
        }
      }, { rootMargin: "400px" }).observe($("latest-sentinel"));
    }
    if (tg) {
      tg.onEvent("themeChanged", applyTheme);
      if (tg.BackButton) tg.BackButton.onClick(back);
      if (tg.MainButton) tg.MainButton.onClick(openOriginal);
    }
  }

  function startParam() {
    const unsafe = tg && tg.initDataUnsafe ? tg.initDataUnsafe.start_param : null;
    const signed = new URLSearchParams(initData).get("start_param");
    const query = new URLSearchParams(location.search);
    return unsafe || signed || query.get("tgWebAppStartParam") || query.get("startapp") || "";
  }

  async function start() {
    applyTheme();
    if (tg) {
      tg.ready();
      tg.expand();
    }
    bind();
    try {
      await loadStrings();
      await Promise.all([loadTopics(), loadLatest(true)]);
    } catch (error) {
      failed(error);
    }
    const wanted = /^a(\d{1,18})$/.exec(startParam());
    if (wanted) openArticle(Number(wanted[1]));
  }

  start();
})();
