/* TempClock kiosk: a worker types a PIN and picks an action; the page posts it to
   /kiosk/<token>/punch. When the host can't be reached the punch is kept on this device
   (with its device time and an idempotency key) and sent when the host answers again. */
"use strict";

const TEXTS = {
  en: {
    title: "Clock in or out",
    pin_hint: "Type your PIN, then choose what you are doing.",
    clear: "Clear",
    delete_digit: "Delete last digit",
    actions: "Actions",
    clock_in: "Clock in",
    clock_out: "Clock out",
    break_start: "Start break",
    break_end: "End break",
    hello: "Hello, {name}!",
    done_clock_in: "You are clocked in.",
    done_clock_out: "You are clocked out.",
    done_break_start: "Your break has started.",
    done_break_end: "Your break has ended.",
    at: "Time: {time}",
    sending: "Sending…",
    pin_needed: "Type your PIN first.",
    pin_digits: "A PIN is 4 to 8 digits.",
    saved_offline: "Saved, will send when the connection is back.",
    offline_banner: "No connection to the office PC: punches are saved on this device.",
    waiting: "{count} saved punch(es) waiting to send.",
    queue_title: "Saved on this device",
    queue_waiting: "saved, will send",
    queue_refused: "not accepted",
    queue_sent: "sent",
    dismiss: "Dismiss",
    wrong_pin: "Wrong PIN. Please try again.",
    kiosk_locked: "Too many wrong PINs. This kiosk is locked for {minutes} min.",
    geofence_refused: "You are outside the site's area. Move closer to the site and try again.",
    already_clocked_in: "You are already clocked in.",
    not_clocked_in: "You are not clocked in.",
    already_on_break: "You are already on a break.",
    not_on_break: "You are not on a break.",
    entry_overlap: "This time overlaps one of your entries. Please ask the office.",
    worker_inactive: "Your account is not active. Please ask the office.",
    location_inactive: "This site is closed for clocking. Please ask the office.",
    outside_backdating_window: "Saved too long ago to be accepted. The office can see it.",
    not_found: "This kiosk link no longer works. Please ask the office for a new one.",
    failed: "This could not be recorded. Please ask the office.",
    action_clock_in: "Clock in",
    action_clock_out: "Clock out",
    action_break_start: "Start break",
    action_break_end: "End break",
  },
  pl: {
    title: "Rejestracja czasu pracy",
    pin_hint: "Wpisz swój PIN, a potem wybierz, co robisz.",
    clear: "Wyczyść",
    delete_digit: "Usuń ostatnią cyfrę",
    actions: "Czynności",
    clock_in: "Rozpocznij pracę",
    clock_out: "Zakończ pracę",
    break_start: "Rozpocznij przerwę",
    break_end: "Zakończ przerwę",
    hello: "Dzień dobry, {name}!",
    done_clock_in: "Praca rozpoczęta.",
    done_clock_out: "Praca zakończona.",
    done_break_start: "Przerwa rozpoczęta.",
    done_break_end: "Przerwa zakończona.",
    at: "Godzina: {time}",
    sending: "Wysyłanie…",
    pin_needed: "Najpierw wpisz swój PIN.",
    pin_digits: "PIN ma od 4 do 8 cyfr.",
    saved_offline: "Zapisano, zostanie wysłane po przywróceniu połączenia.",
    offline_banner: "Brak połączenia z komputerem biura: rejestracje są zapisywane na tym urządzeniu.",
    waiting: "Zapisane rejestracje czekające na wysłanie: {count}.",
    queue_title: "Zapisane na tym urządzeniu",
    queue_waiting: "zapisano, zostanie wysłane",
    queue_refused: "nie przyjęto",
    queue_sent: "wysłano",
    dismiss: "Zamknij",
    wrong_pin: "Nieprawidłowy PIN. Spróbuj ponownie.",
    kiosk_locked: "Zbyt wiele błędnych PIN-ów. Kiosk jest zablokowany na {minutes} min.",
    geofence_refused: "Jesteś poza terenem zakładu. Podejdź bliżej i spróbuj ponownie.",
    already_clocked_in: "Praca jest już rozpoczęta.",
    not_clocked_in: "Praca nie została rozpoczęta.",
    already_on_break: "Przerwa już trwa.",
    not_on_break: "Nie masz teraz przerwy.",
    entry_overlap: "Ten czas pokrywa się z innym wpisem. Zapytaj w biurze.",
    worker_inactive: "Twoje konto jest nieaktywne. Zapytaj w biurze.",
    location_inactive: "Rejestracja w tym miejscu jest wyłączona. Zapytaj w biurze.",
    outside_backdating_window: "Zapisano zbyt dawno, aby przyjąć. Biuro to widzi.",
    not_found: "Ten link kiosku już nie działa. Poproś biuro o nowy.",
    failed: "Nie udało się zapisać. Zapytaj w biurze.",
    action_clock_in: "Rozpoczęcie pracy",
    action_clock_out: "Zakończenie pracy",
    action_break_start: "Początek przerwy",
    action_break_end: "Koniec przerwy",
  },
  ro: {
    title: "Pontaj",
    pin_hint: "Introdu PIN-ul, apoi alege ce faci.",
    clear: "Șterge tot",
    delete_digit: "Șterge ultima cifră",
    actions: "Acțiuni",
    clock_in: "Începe tura",
    clock_out: "Încheie tura",
    break_start: "Începe pauza",
    break_end: "Încheie pauza",
    hello: "Bună, {name}!",
    done_clock_in: "Tura a început.",
    done_clock_out: "Tura s-a încheiat.",
    done_break_start: "Pauza a început.",
    done_break_end: "Pauza s-a încheiat.",
    at: "Ora: {time}",
    sending: "Se trimite…",
    pin_needed: "Introdu mai întâi PIN-ul.",
    pin_digits: "PIN-ul are între 4 și 8 cifre.",
    saved_offline: "Salvat, se va trimite când revine conexiunea.",
    offline_banner: "Nu există conexiune cu calculatorul biroului: pontajele se salvează pe acest dispozitiv.",
    waiting: "Pontaje salvate care așteaptă trimiterea: {count}.",
    queue_title: "Salvate pe acest dispozitiv",
    queue_waiting: "salvat, se va trimite",
    queue_refused: "neacceptat",
    queue_sent: "trimis",
    dismiss: "Închide",
    wrong_pin: "PIN greșit. Încearcă din nou.",
    kiosk_locked: "Prea multe PIN-uri greșite. Chioșcul este blocat {minutes} min.",
    geofence_refused: "Ești în afara zonei locației. Apropie-te și încearcă din nou.",
    already_clocked_in: "Tura ta a început deja.",
    not_clocked_in: "Nu ai început tura.",
    already_on_break: "Ești deja în pauză.",
    not_on_break: "Nu ești în pauză.",
    entry_overlap: "Ora se suprapune cu o altă înregistrare. Întreabă la birou.",
    worker_inactive: "Contul tău nu este activ. Întreabă la birou.",
    location_inactive: "Pontajul este oprit la această locație. Întreabă la birou.",
    outside_backdating_window: "Salvat prea demult pentru a fi acceptat. Biroul îl poate vedea.",
    not_found: "Acest link de chioșc nu mai funcționează. Cere biroului unul nou.",
    failed: "Nu s-a putut înregistra. Întreabă la birou.",
    action_clock_in: "Începutul turei",
    action_clock_out: "Sfârșitul turei",
    action_break_start: "Începutul pauzei",
    action_break_end: "Sfârșitul pauzei",
  },
  lt: {
    title: "Darbo laiko žymėjimas",
    pin_hint: "Įveskite PIN kodą, tada pasirinkite veiksmą.",
    clear: "Išvalyti",
    delete_digit: "Ištrinti paskutinį skaitmenį",
    actions: "Veiksmai",
    clock_in: "Pradėti darbą",
    clock_out: "Baigti darbą",
    break_start: "Pradėti pertrauką",
    break_end: "Baigti pertrauką",
    hello: "Labas, {name}!",
    done_clock_in: "Darbas pradėtas.",
    done_clock_out: "Darbas baigtas.",
    done_break_start: "Pertrauka pradėta.",
    done_break_end: "Pertrauka baigta.",
    at: "Laikas: {time}",
    sending: "Siunčiama…",
    pin_needed: "Pirmiausia įveskite PIN kodą.",
    pin_digits: "PIN kodą sudaro nuo 4 iki 8 skaitmenų.",
    saved_offline: "Išsaugota, bus išsiųsta, kai atsiras ryšys.",
    offline_banner: "Nėra ryšio su biuro kompiuteriu: žymos saugomos šiame įrenginyje.",
    waiting: "Išsaugotos žymos, laukiančios išsiuntimo: {count}.",
    queue_title: "Išsaugota šiame įrenginyje",
    queue_waiting: "išsaugota, bus išsiųsta",
    queue_refused: "nepriimta",
    queue_sent: "išsiųsta",
    dismiss: "Uždaryti",
    wrong_pin: "Neteisingas PIN kodas. Bandykite dar kartą.",
    kiosk_locked: "Per daug neteisingų PIN kodų. Kioskas užrakintas {minutes} min.",
    geofence_refused: "Esate už objekto ribų. Prieikite arčiau ir bandykite dar kartą.",
    already_clocked_in: "Darbą jau pradėjote.",
    not_clocked_in: "Darbo dar nepradėjote.",
    already_on_break: "Jau esate pertraukoje.",
    not_on_break: "Dabar nesate pertraukoje.",
    entry_overlap: "Šis laikas sutampa su kitu įrašu. Kreipkitės į biurą.",
    worker_inactive: "Jūsų paskyra neaktyvi. Kreipkitės į biurą.",
    location_inactive: "Šiame objekte žymėjimas išjungtas. Kreipkitės į biurą.",
    outside_backdating_window: "Išsaugota per seniai, kad būtų priimta. Biuras tai mato.",
    not_found: "Ši kiosko nuoroda nebegalioja. Paprašykite biuro naujos.",
    failed: "Nepavyko užregistruoti. Kreipkitės į biurą.",
    action_clock_in: "Darbo pradžia",
    action_clock_out: "Darbo pabaiga",
    action_break_start: "Pertraukos pradžia",
    action_break_end: "Pertraukos pabaiga",
  },
};
const LANGUAGES = Object.keys(TEXTS);
const RESET_AFTER_MS = 8000; // long enough to read the result, short enough for a queue of workers
const RETRY_EVERY_MS = 10000; // saved punches and a failed offline shell are tried again
const QUEUE_KEY = "tempclock.kiosk.queue";
const SITE_KEY = "tempclock.kiosk.site";
const PIN_PATTERN = /^[0-9]{4,8}$/;

const base = new URL("./", document.baseURI);
const storageKey = (name) => `${name}:${base.pathname}`; // one queue per kiosk link
const $ = (id) => document.getElementById(id);

let browserLanguage = pickLanguage(navigator.languages || [navigator.language]);
let language = browserLanguage;
let site = loadJson(SITE_KEY, { name: "TempClock", time_zone: undefined, geofence: "off" });
let resetTimer = null;
let busy = false;
let flushing = false;

/* ---------- language ---------- */

function pickLanguage(preferred) {
  for (const tag of preferred) {
    const primary = String(tag || "").toLowerCase().split("-")[0];
    if (LANGUAGES.includes(primary)) return primary;
  }
  return "en";
}

function text(key, values = {}, lang = language) {
  const template = TEXTS[lang][key] ?? TEXTS.en[key] ?? TEXTS[lang].failed;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function applyLanguage(lang) {
  language = LANGUAGES.includes(lang) ? lang : "en";
  document.documentElement.lang = language;
  for (const el of document.querySelectorAll("[data-text]")) el.textContent = text(el.dataset.text);
  for (const el of document.querySelectorAll("[data-label]")) {
    el.setAttribute("aria-label", text(el.dataset.label));
  }
  document.title = `${text("title")} · ${site.name}`;
  renderQueue();
}

/* ---------- storage ---------- */

function loadJson(name, fallback) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(name))) ?? fallback;
  } catch {
    return fallback;
  }
}

function saveJson(name, value) {
  localStorage.setItem(storageKey(name), JSON.stringify(value));
}

const queue = {
  all: () => loadJson(QUEUE_KEY, []),
  save: (items) => saveJson(QUEUE_KEY, items),
  add(item) {
    this.save([...this.all(), item]);
  },
  update(id, changes) {
    this.save(this.all().map((item) => (item.id === id ? { ...item, ...changes } : item)));
  },
  remove(id) {
    this.save(this.all().filter((item) => item.id !== id));
  },
};

function idempotencyKey() {
  // crypto.randomUUID needs a secure context; a LAN kiosk over plain http has none.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "kiosk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/* ---------- the host ---------- */

class Unreachable extends Error {}

class Refused extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.message || `HTTP ${status}`);
    this.status = status;
    // A 404 is an unknown or revoked link, whatever code names it.
    this.code = status === 404 ? "not_found" : problem.code || "failed";
    this.retryAfter = retryAfter;
  }
}

async function call(path, options = {}) {
  let response;
  try {
    response = await fetch(new URL(path, base), { cache: "no-store", ...options });
  } catch {
    throw new Unreachable();
  }
  // A host that fails (or a gateway in front of it) has not refused the punch: it is kept
  // and offered again with the same idempotency key.
  if (response.status >= 500) throw new Unreachable();
  let body = {};
  try {
    body = await response.json();
  } catch {
    /* an empty or non-JSON body: the status alone tells */
  }
  if (!response.ok) {
    throw new Refused(response.status, body, Number(response.headers.get("Retry-After")) || 0);
  }
  return body;
}

function postPunch(punch) {
  const body = { pin: punch.pin, action: punch.action, ...punch.position };
  if (punch.device_time) {
    body.device_time = punch.device_time;
    body.device_now = new Date().toISOString(); // so the host can allow for this clock being off
  }
  body.idempotency_key = punch.id;
  return call("punch", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function loadSite() {
  try {
    site = await call("site");
    saveJson(SITE_KEY, site);
    setConnection(true);
  } catch (error) {
    if (error instanceof Refused) {
      showProblem(error);
    } else {
      setConnection(false);
    }
  }
  $("site-name").textContent = site.name;
  applyLanguage(language);
}

/* ---------- geolocation ---------- */

function currentPosition() {
  if (site.geofence === "off" || !navigator.geolocation) return Promise.resolve({});
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      ({ coords }) => resolve({
        latitude: coords.latitude,
        longitude: coords.longitude,
        accuracy_m: coords.accuracy,
      }),
      () => resolve({}), // refused or unavailable: the site's geofence mode decides
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });
}

/* ---------- showing results ---------- */

function formatTime(date) {
  try {
    return new Intl.DateTimeFormat(language, {
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: site.time_zone,
    }).format(date);
  } catch {
    return date.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
}

function show({ greeting = "", message = "", time = "", tone = message ? "info" : "idle" }) {
  $("greeting").textContent = greeting;
  $("message").textContent = message;
  $("result-time").textContent = time;
  $("result").dataset.tone = tone;
  clearTimeout(resetTimer);
  if (tone !== "idle") resetTimer = setTimeout(resetForNextPerson, RESET_AFTER_MS);
}

function showProblem(error) {
  const minutes = Math.max(1, Math.ceil((error.retryAfter || 300) / 60));
  show({ message: text(error.code, { minutes }), tone: "error" });
}

function resetForNextPerson() {
  clearTimeout(resetTimer);
  $("pin").value = "";
  show({});
  applyLanguage(browserLanguage);
}

function setBusy(value) {
  busy = value;
  $("kiosk").setAttribute("aria-busy", String(value));
  for (const button of document.querySelectorAll(".action")) button.disabled = value;
}

function setConnection(reachable) {
  const banner = $("connection");
  banner.hidden = reachable;
  banner.textContent = reachable ? "" : text("offline_banner");
}

function renderQueue() {
  const items = queue.all();
  const list = $("queue-list");
  list.replaceChildren(...items.map(queueRow));
  $("queue").hidden = items.length === 0;
}

function queueRow(item) {
  const row = document.createElement("li");
  row.className = `queued ${item.state}`;
  const when = formatTime(new Date(item.device_time));
  const label = item.first_name ? `${item.first_name}: ` : "";
  const state = item.state === "refused"
    ? `${text("queue_refused")} (${text(item.code)})`
    : text("queue_waiting");
  const what = document.createElement("span");
  what.textContent = `${label}${text(`action_${item.action}`)} ${when} — ${state}`;
  row.append(what);
  if (item.state === "refused") {
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.textContent = text("dismiss");
    dismiss.addEventListener("click", () => {
      queue.remove(item.id);
      renderQueue();
    });
    row.append(dismiss);
  }
  return row;
}

/* ---------- punching ---------- */

async function punch(action) {
  if (busy) return;
  const pin = $("pin").value.trim();
  if (!PIN_PATTERN.test(pin)) {
    show({ message: text(pin ? "pin_digits" : "pin_needed"), tone: "error" });
    $("pin").focus();
    return;
  }
  // The punch's time is when the button was pressed: sending may take a while to fail.
  const pressedAt = new Date();
  setBusy(true);
  show({ message: text("sending") });
  const punched = {
    id: idempotencyKey(), pin, action, pressedAt, position: await currentPosition(),
  };
  try {
    await flushQueue(); // earlier saved punches first, so the host sees them in order
    if (queue.all().some((item) => item.state === "waiting")) throw new Unreachable();
    showDone(await postPunch(punched));
  } catch (error) {
    showFailure(error, punched);
  } finally {
    setBusy(false);
    if (!$("pin").value) $("pin").focus();
  }
}

function showFailure(error, punched) {
  $("pin").value = "";
  try {
    if (error instanceof Unreachable) {
      saveForLater(punched);
      return;
    }
    if (error instanceof Refused) {
      showProblem(error);
      return;
    }
  } catch {
    /* the device could not keep the punch either (storage full or disabled) */
  }
  show({ message: text("failed"), tone: "error" });
}

function showDone(result) {
  setConnection(true);
  $("pin").value = "";
  applyLanguage(result.language || browserLanguage);
  show({
    greeting: text("hello", { name: result.first_name }),
    message: text(`done_${result.action}`),
    time: text("at", { time: result.local_time || formatTime(new Date(result.at)) }),
    tone: "success",
  });
}

function saveForLater({ pressedAt, ...punched }) {
  queue.add({ ...punched, device_time: pressedAt.toISOString(), state: "waiting" });
  setConnection(false);
  renderQueue();
  show({ message: text("saved_offline"), time: text("at", { time: formatTime(pressedAt) }),
         tone: "saved" });
}

async function flushQueue() {
  if (flushing) return;
  flushing = true;
  try {
    for (const item of queue.all().filter((entry) => entry.state === "waiting")) {
      try {
        await postPunch(item);
        queue.remove(item.id);
      } catch (error) {
        if (error instanceof Refused && error.code !== "kiosk_locked") {
          // Kept, without its PIN, until someone reads it: the admin has it on the host's list.
          queue.update(item.id, { state: "refused", code: error.code, pin: "" });
        } else {
          break; // still unreachable (or locked): try again later, in the same order
        }
      }
    }
    setConnection(!queue.all().some((entry) => entry.state === "waiting"));
  } finally {
    flushing = false;
    renderQueue();
  }
}

/* ---------- offline shell ---------- */

async function installOfflineShell() {
  // The service worker keeps the page for when the host can't be reached. Its install fails
  // when one of the page's files can't be fetched (the host stopped, or too busy, meanwhile),
  // and a failed first install leaves nothing registered: a tablet that stays on this page
  // for days tries again until a worker is there.
  if (!("serviceWorker" in navigator)) return; // plain http on the LAN: the page still works
  try {
    const registration = await navigator.serviceWorker.getRegistration(base.href);
    if (registration && (registration.installing || registration.waiting || registration.active)) {
      return;
    }
    await navigator.serviceWorker.register(new URL("sw.js", base), { scope: base.pathname });
  } catch {
    /* the host can't be reached now: tried again with the saved punches */
  }
}

/* ---------- wiring ---------- */

function typeDigit(key) {
  const field = $("pin");
  if (key === "clear") field.value = "";
  else if (key === "back") field.value = field.value.slice(0, -1);
  else if (field.value.length < 8) field.value += key;
  startTyping();
}

function startTyping() {
  // A new person has started: the last person's result goes away.
  if (!busy && $("result").dataset.tone !== "idle") {
    clearTimeout(resetTimer);
    show({});
    applyLanguage(browserLanguage);
  }
}

function tick() {
  $("clock").textContent = formatTime(new Date());
}

function start() {
  for (const button of document.querySelectorAll(".action")) {
    button.addEventListener("click", () => punch(button.dataset.action));
  }
  for (const button of document.querySelectorAll("#keypad button")) {
    button.addEventListener("click", () => typeDigit(button.dataset.digit ?? button.dataset.key));
  }
  const field = $("pin");
  field.addEventListener("input", () => {
    field.value = field.value.replace(/[^0-9]/g, "").slice(0, 8);
    startTyping();
  });
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault(); // which action is for the worker to say
  });
  $("entry").addEventListener("submit", (event) => event.preventDefault());
  window.addEventListener("online", flushQueue);
  setInterval(flushQueue, RETRY_EVERY_MS);
  setInterval(tick, 1000);
  applyLanguage(language);
  tick();
  loadSite().then(flushQueue);
  installOfflineShell();
  setInterval(installOfflineShell, RETRY_EVERY_MS);
  field.focus();
}

start();
