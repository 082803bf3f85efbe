// Progressive enhancement only: every page works without this file.
// "Take photo" stays on the overview and shows the photo, then its analysis as it arrives; the live parts of
// a page (module table, charts, alerts, route counts, message log) are refreshed in place every few seconds.
(function () {
  const LIVE = ["#modules tbody", ".charts", "#alerts", "#routes tbody", "#messages tbody"];
  const REFRESH_MS = 5000;

  async function fetchDocument(url) {
    const page = await fetch(url, { headers: { Accept: "text/html" } });
    if (!page.ok) throw new Error(url + ": HTTP " + page.status);
    return new DOMParser().parseFromString(await page.text(), "text/html");
  }

  async function refreshLive() {
    try {
      const doc = await fetchDocument(window.location.pathname + window.location.search);
      for (const selector of LIVE) {
        const fresh = doc.querySelector(selector);
        const here = document.querySelector(selector);
        if (fresh && here) here.replaceWith(document.importNode(fresh, true));
      }
    } catch (error) {
      console.warn("dashboard refresh failed", error);
    }
  }

  async function showPhoto(out, blob) {
    for (let i = 0; i < 60; i++) {
      const doc = await fetchDocument("/photos/" + blob);
      const figure = doc.querySelector("figure.photo");
      if (figure) {
        out.replaceChildren(document.importNode(figure, true));
        if (!figure.querySelector(".pending")) return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async function takePhoto(form, out) {
    out.className = "";
    out.textContent = "taking a photo…";
    try {
      const res = await fetch(form.action, { method: "POST", headers: { Accept: "application/json" } });
      const body = await res.json();
      if (body.status !== 200) throw new Error(JSON.stringify(body.payload));
      await showPhoto(out, body.payload.blob);
    } catch (error) {
      out.textContent = "take_photo failed: " + error.message;
      out.className = "error";
    }
  }

  if (LIVE.some((selector) => document.querySelector(selector))) setInterval(refreshLive, REFRESH_MS);
  const form = document.getElementById("take-photo");
  const out = document.getElementById("photo-result");
  if (form && out) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      takePhoto(form, out);
    });
  }
})();
