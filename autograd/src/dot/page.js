"use strict";
// Steps through the forward pass, then the backward pass. Each label and unit of the SVG carries data-f (the
// forward step that computes it) and data-b (the backward step that produces it); each list item names a step.
(() => {
  const steps = Array.from(document.querySelectorAll("#steps li"));
  const caption = document.getElementById("caption");
  const all = (selector) => Array.from(document.querySelectorAll("#graph " + selector));
  const num = (el, key) => (el.dataset[key] === undefined ? NaN : Number(el.dataset[key]));
  let current = 0;

  function show(i) {
    current = Math.max(0, Math.min(steps.length - 1, i));
    const step = steps[current];
    const backward = step.dataset.phase === "backward";
    const k = Number(step.dataset.k);
    for (const t of all(".value")) t.classList.toggle("hidden", !backward && num(t, "f") > k);
    for (const t of all(".gradient")) {
      t.classList.toggle("hidden", !backward || num(t, "b") > k);
      t.classList.toggle("newest", backward && num(t, "b") === k);
    }
    for (const a of all(".arrow")) {
      const hasGradient = a.querySelector(".gradient") !== null;
      a.classList.toggle("newest", backward && hasGradient && num(a, "b") === k);
    }
    for (const u of all(".unit")) {
      const hot = backward ? num(u, "b") === k : k > 0 && num(u, "f") === k;
      u.classList.toggle("newest", hot);
    }
    steps.forEach((s, j) => s.classList.toggle("current", j === current));
    caption.textContent = step.textContent;
    document.getElementById("first").disabled = document.getElementById("prev").disabled = current === 0;
    document.getElementById("last").disabled = document.getElementById("next").disabled =
      current === steps.length - 1;
  }

  document.getElementById("first").addEventListener("click", () => show(0));
  document.getElementById("prev").addEventListener("click", () => show(current - 1));
  document.getElementById("next").addEventListener("click", () => show(current + 1));
  document.getElementById("last").addEventListener("click", () => show(steps.length - 1));
  steps.forEach((s, j) => s.addEventListener("click", () => show(j)));
  document.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") show(current + 1);
    if (e.key === "ArrowLeft") show(current - 1);
  });
  show(0);
})();
