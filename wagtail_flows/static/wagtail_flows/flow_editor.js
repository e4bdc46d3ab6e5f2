/* The flow editor's live diagram.
 *
 * Whenever the form changes (typing, a chooser, a block added, moved or removed: input and
 * change events, and Wagtail's StreamField DOM changes), the whole form is POSTed to the
 * diagram preview view after a short pause and the drawing it returns replaces the old one.
 * Clicking a node opens its block: its tab is shown, it and every block around it expanded,
 * and it is scrolled into view.
 */
(function () {
    'use strict';

    var DELAY = 400;

    function LiveDiagram(root) {
        this.root = root;
        this.form = root.closest('form');
        this.url = root.dataset.wfPreviewUrl;
        this.aside = root.querySelector('.wf-editor__aside');
        this.target = root.querySelector('[data-wf-diagram]');
        this.status = root.querySelector('[data-wf-diagram-status]');
        this.timer = null;
        this.sent = this.serialize();
        this.sequence = 0;
        this.listen();
        // The page came with a drawing of the form as rendered; StreamField builds its
        // inputs after this script starts, so take the form as drawn once it has.
        var self = this;
        window.addEventListener('load', function () {
            if (!self.sequence) self.sent = self.serialize();
        });
    }

    LiveDiagram.prototype.serialize = function () {
        return new URLSearchParams(new FormData(this.form)).toString();
    };

    LiveDiagram.prototype.listen = function () {
        var self = this;
        var schedule = function (event) {
            if (!event || !self.aside.contains(event.target)) self.schedule();
        };
        this.form.addEventListener('input', schedule);
        this.form.addEventListener('change', schedule);
        // Blocks added, moved (re-ordered in the DOM) or removed (hidden) change no field
        // by typing; watch the form's DOM, leaving out the drawing itself.
        new MutationObserver(function (records) {
            var outside = records.some(function (record) {
                return !self.aside.contains(record.target);
            });
            if (outside) self.schedule();
        }).observe(this.form, {
            childList: true,
            subtree: true,
            attributes: true,
            attributeFilter: ['value', 'style', 'aria-hidden'],
        });
        this.aside.addEventListener('click', function (event) {
            var node = event.target.closest('[data-wf-open-block]');
            if (node) openBlock(self.form, node.dataset.wfOpenBlock);
        });
    };

    LiveDiagram.prototype.schedule = function () {
        var self = this;
        window.clearTimeout(this.timer);
        this.timer = window.setTimeout(function () {
            self.redraw();
        }, DELAY);
    };

    LiveDiagram.prototype.redraw = function () {
        var body = this.serialize();
        if (body === this.sent) return;
        this.sent = body;
        var self = this;
        var sequence = ++this.sequence;
        this.target.setAttribute('aria-busy', 'true');
        fetch(this.url, {
            method: 'POST',
            body: body,
            credentials: 'same-origin',
            headers: {
                'Content-Type': 'application/x-www-form-urlencoded',
                'X-Requested-With': 'XMLHttpRequest',
            },
        })
            .then(function (response) {
                if (!response.ok) throw new Error(String(response.status));
                return response.text();
            })
            .then(function (html) {
                if (sequence !== self.sequence) return; // a newer drawing is on its way
                self.target.innerHTML = html;
                self.say('', false);
            })
            .catch(function () {
                if (sequence !== self.sequence) return;
                self.sent = null; // try again on the next change
                self.say(self.root.dataset.wfFailed || 'Could not redraw: the drawing may be out of date.', true);
            })
            .finally(function () {
                if (sequence === self.sequence) self.target.setAttribute('aria-busy', 'false');
            });
    };

    LiveDiagram.prototype.say = function (message, failed) {
        this.status.textContent = message;
        this.status.classList.toggle('wf-editor__status--failed', failed);
    };

    function showTab(element) {
        var panel = element.closest('[role="tabpanel"]');
        if (!panel || !panel.id) return;
        var tab = document.querySelector('[role="tab"][aria-controls="' + panel.id + '"]');
        if (tab && tab.getAttribute('aria-selected') !== 'true') tab.click();
    }

    function expand(child) {
        // Wagtail expands a collapsed panel, and each panel around it, on "beforematch"
        // from inside its content (as the browser's find-in-page does).
        var toggle = child.querySelector('[data-panel-toggle]');
        var content = toggle && document.getElementById(toggle.getAttribute('aria-controls'));
        (content || child).dispatchEvent(new Event('beforematch', { bubbles: true }));
        return toggle;
    }

    function openBlock(form, id) {
        var child = form.querySelector(
            '[data-streamfield-child][data-contentpath="' + CSS.escape(id) + '"]',
        );
        if (!child) return;
        showTab(child);
        var toggle = expand(child);
        child.scrollIntoView({ behavior: 'smooth', block: 'start' });
        if (toggle) toggle.focus({ preventScroll: true });
        child.classList.add('wf-opened');
        window.setTimeout(function () {
            child.classList.remove('wf-opened');
        }, 2000);
    }

    function start() {
        document.querySelectorAll('[data-wf-flow-editor]').forEach(function (root) {
            if (root.closest('form')) new LiveDiagram(root);
        });
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
