// Progressive enhancement only: every page works without this file.
// "Take photo" stays on the overview and shows the photo, then its analysis as it arrives.
(function () {
  const form = document.getElementById("take-photo");
  const out = document.getElementById("photo-result");
  if (!form || !out) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.textContent = "taking a photo…";
    const res = await fetch(form.action, { method: "POST", headers: { Accept: "application/json" } });
    const body = await res.json();
    if (body.status !== 200) {
      out.textContent = "take_photo failed: " + JSON.stringify(body.payload);
      out.className = "error";
      return;
    }
    const blob = body.payload.blob;
    for (let i = 0; i < 60; i++) {
      const page = await fetch("/photos/" + blob);
      const html = await page.text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const figure = doc.querySelector("figure.photo");
      if (figure) {
        out.replaceChildren(document.importNode(figure, true));
        if (!figure.querySelector(".pending")) return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  });
})();
