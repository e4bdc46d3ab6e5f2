/* wagtail-flows event beacon, for pages served from a cache (where server-side capture
 * never runs) and for custom events from the browser.
 *
 *   <script src="{% static 'wagtail_flows/beacon.js' %}" defer
 *           data-endpoint="{% url 'wagtail_flows:beacon' %}"
 *           data-page-id="{{ page.id }}"></script>
 *
 * data-page-view="off" skips the automatic page view (use it on pages that are not cached,
 * which Wagtail's page serving already counts). Custom events:
 *   window.wagtailFlows.track("video_played", {video: "intro"});
 * The beacon sends no email and no cookie of its own: the server attaches the event to this
 * browser's first-party visitor cookie, and only for requests from this site (Origin check).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    return;
  }
  var endpoint = script.getAttribute("data-endpoint") || "/flows/beacon/";
  var pageId = parseInt(script.getAttribute("data-page-id") || "", 10);

  function send(payload) {
    var body = JSON.stringify(payload);
    try {
      if (window.fetch) {
        window.fetch(endpoint, {
          method: "POST",
          body: body,
          headers: { "Content-Type": "application/json" },
          credentials: "same-origin",
          keepalive: true,
        }).catch(function () {});
      } else if (navigator.sendBeacon) {
        navigator.sendBeacon(endpoint, new Blob([body], { type: "application/json" }));
      }
    } catch (e) {
      /* tracking never breaks the page */
    }
  }

  window.wagtailFlows = {
    track: function (name, data) {
      send({ kind: "custom", name: String(name), data: data || {} });
    },
  };

  if (script.getAttribute("data-page-view") !== "off") {
    var view = { kind: "page_viewed", path: window.location.pathname, data: {} };
    if (!isNaN(pageId)) {
      view.page = pageId;
    }
    send(view);
  }
})();
