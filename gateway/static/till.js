/* The till (/gestion/caisse), faster: the page works without this script (plain forms, the cart in the
   URL); with it a tap on an item changes the cart in the page without any request, the search answers
   as the name or class is typed, choosing a child or a wallet swaps the till in place, and "Encaisser"
   posts the same form (its Idempotency key: a double tap books once) and shows the answer in place.
   The server renders every part (X-Till-Fragment: 1 asks for the till alone); the CSP allows no
   inline script. */
(function () {
  "use strict";

  var root = document.getElementById("till");
  if (!root || !window.fetch || !window.FormData || !window.history || !window.history.replaceState) { return; }
  var announcer = document.getElementById("till-announce");
  var FRAGMENT = { "X-Till-Fragment": "1" };
  var lang = document.documentElement.lang || "fr";
  var money = new Intl.NumberFormat(lang === "en" ? "en" : lang + "-BE", { style: "currency", currency: "EUR" });
  var MAX_QUANTITY = 99;
  var selling = false;
  var searchSeq = 0;
  var searchTimer = null;

  function eur(cents) { return money.format(cents / 100); }

  function say(text) {
    if (!announcer || !text) { return; }
    announcer.textContent = "";
    // a new text node in the live region: said even when the same words come twice
    window.requestAnimationFrame(function () { announcer.textContent = text; });
  }

  // -- the cart: [[item id, quantity], ...] in the order first tapped, as the server writes it ---------

  function cartInput() { return root.querySelector("input[data-cart]"); }

  function readCart() {
    var input = cartInput();
    var cart = [];
    if (!input || !input.value) { return cart; }
    input.value.split(",").forEach(function (part) {
      var bits = part.split(":");
      var qty = parseInt(bits[1], 10);
      if (bits[0] && qty > 0) { cart.push([bits[0], Math.min(qty, MAX_QUANTITY)]); }
    });
    return cart;
  }

  function cartText(cart) {
    return cart.filter(function (l) { return l[1] > 0; }).map(function (l) { return l[0] + ":" + l[1]; }).join(",");
  }

  function quantity(cart, id) {
    for (var i = 0; i < cart.length; i++) { if (cart[i][0] === id) { return cart[i][1]; } }
    return 0;
  }

  function setQuantity(cart, id, qty) {
    for (var i = 0; i < cart.length; i++) {
      if (cart[i][0] === id) {
        if (qty > 0) { cart[i][1] = qty; } else { cart.splice(i, 1); }
        return;
      }
    }
    if (qty > 0) { cart.push([id, qty]); }
  }

  function tillUrl(cart) {
    var url = new URL(window.location.href);
    var sell = root.querySelector("form[data-till-sell]");
    if (sell) {
      ["eleve", "portefeuille", "cle"].forEach(function (name) {
        if (sell.elements[name] && sell.elements[name].value) { url.searchParams.set(name, sell.elements[name].value); }
      });
    }
    var text = cartText(cart);
    if (text) { url.searchParams.set("panier", text); } else { url.searchParams.delete("panier"); }
    url.searchParams.delete("q");
    return url.toString();
  }

  // The cart as the page shows it: each line's quantity and amount, the total, the short balance.
  function show(cart) {
    var total = 0;
    root.querySelectorAll("[data-line]").forEach(function (row) {
      var qty = quantity(cart, row.dataset.line);
      var price = Number(row.dataset.price);
      total += qty * price;
      row.hidden = qty === 0;
      row.querySelector("[data-qty]").textContent = String(qty);
      row.querySelector("[data-amount]").textContent = eur(qty * price);
    });
    root.querySelectorAll("[data-total]").forEach(function (el) { el.textContent = eur(total); });
    var empty = cart.length === 0;
    var node = root.querySelector("[data-empty]");
    if (node) { node.hidden = !empty; }
    node = root.querySelector("[data-clear-row]");
    if (node) { node.hidden = empty; }
    var child = root.querySelector("[data-balance]");
    node = root.querySelector("[data-short]");
    if (node && child) { node.hidden = total <= Number(child.dataset.balance); }
    var sellButton = root.querySelector("button[data-sell]");
    if (sellButton) { sellButton.disabled = empty || sellButton.dataset.left === "true"; }
    var input = cartInput();
    if (input) { input.value = cartText(cart); }
    window.history.replaceState({ till: true }, "", tillUrl(cart));
  }

  function change(id, delta) {
    var cart = readCart();
    var qty = Math.max(0, Math.min(MAX_QUANTITY, quantity(cart, id) + delta));
    setQuantity(cart, id, qty);
    show(cart);
    var row = root.querySelector('[data-line="' + id + '"]');
    if (row) { say(row.dataset.label + " × " + qty); }
  }

  // -- the till swapped in place ---------------------------------------------------------------------

  function isFragment(resp) { return resp.headers.get("X-Till-Fragment") === "1"; }

  function swapped(focusChild) {
    var said = root.querySelector("[data-announce]");
    if (said) { say(said.textContent.trim()); }
    var error = root.querySelector("#till-error");
    var child = root.querySelector("#till-child-title");
    var search = root.querySelector("#till-q");
    if (error) { error.focus(); } else if (child && focusChild) { child.focus(); } else if (!child && search) { search.focus(); }
  }

  function load(url, push) {
    return fetch(url, { headers: FRAGMENT, credentials: "same-origin" }).then(function (resp) {
      if (!isFragment(resp)) { window.location.href = url; return; }
      return resp.text().then(function (html) {
        root.innerHTML = html;
        if (push) { window.history.pushState({ till: true }, "", url); }
        swapped(true);
      });
    }).catch(function () { window.location.href = url; });
  }

  function sell(form) {
    if (selling) { return; }  // a double tap: the first one is on its way (and its key books once)
    selling = true;
    var button = form.querySelector("button[data-sell]");
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    fetch(form.action, { method: "POST", body: new FormData(form), headers: FRAGMENT, credentials: "same-origin" })
      .then(function (resp) {
        if (!isFragment(resp)) { form.submit(); return; }  // same key: a sale already booked is not booked again
        return resp.text().then(function (html) {
          root.innerHTML = html;
          if (resp.ok) { window.history.replaceState({ till: true }, "", form.action.replace(/\/encaisser$/, "")); }
          swapped(false);
        });
      })
      .catch(function () { form.submit(); })
      .then(function () { selling = false; });
  }

  // -- the search, answered as it is typed -------------------------------------------------------------

  function search(form) {
    var q = form.elements.q.value.trim();
    var seq = ++searchSeq;
    var url = form.dataset.tillSearch + "?q=" + encodeURIComponent(q);
    fetch(url, { headers: FRAGMENT, credentials: "same-origin" }).then(function (resp) {
      if (!isFragment(resp)) { return; }
      return resp.text().then(function (html) {
        if (seq !== searchSeq) { return; }  // a later search has been asked since
        var results = root.querySelector("#till-results");
        if (!results) { return; }
        results.innerHTML = html;
        var count = results.querySelector("[data-count]");
        say(count ? count.textContent.trim() : "");
      });
    }).catch(function () { /* the form still works: Enter submits it */ });
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-item], button[data-clear]");
    if (button && root.contains(button)) {
      event.preventDefault();
      if (button.hasAttribute("data-clear")) { show([]); say(button.textContent.trim()); return; }
      change(button.dataset.item, Number(button.dataset.delta));
      return;
    }
    var link = event.target.closest("a[data-till-nav]");
    if (link && root.contains(link) && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      load(link.href, true);
    }
  });

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form[data-till-sell]")) { event.preventDefault(); sell(form); return; }
    if (form.matches("form[data-till-search]")) {
      event.preventDefault();
      var url = form.action + "?q=" + encodeURIComponent(form.elements.q.value.trim());
      load(url, true);
    }
  });

  root.addEventListener("input", function (event) {
    if (event.target.id !== "till-q") { return; }
    var form = event.target.form;
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(function () { search(form); }, 120);
  });

  window.addEventListener("popstate", function () { load(window.location.href, false); });
})();
