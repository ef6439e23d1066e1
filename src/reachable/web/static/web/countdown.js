// Live countdowns for alert deadlines. Each element carries the deadline as an ISO 8601
// timestamp in data-deadline; the server already rendered the same text, so the page reads
// correctly without JavaScript. role="timer" with aria-live="off" keeps screen readers quiet
// while the seconds tick; users hear the current value when they reach the element.
(function () {
  'use strict'

  function plural (n, unit) {
    return n + ' ' + unit + (n === 1 ? '' : 's')
  }

  // Mirrors reachable.web.presentation.duration_words.
  function durationWords (ms) {
    var total = Math.floor(Math.abs(ms) / 1000)
    var days = Math.floor(total / 86400)
    var hours = Math.floor((total % 86400) / 3600)
    var minutes = Math.floor((total % 3600) / 60)
    var seconds = total % 60
    var parts = []
    if (days) parts.push(plural(days, 'day'))
    if (hours) parts.push(plural(hours, 'hour'))
    if (minutes) parts.push(plural(minutes, 'minute'))
    if (!days && (seconds || !parts.length)) parts.push(plural(seconds, 'second'))
    return parts.join(' ')
  }

  function update () {
    var now = Date.now()
    var timers = document.querySelectorAll('[data-deadline]')
    for (var i = 0; i < timers.length; i++) {
      var el = timers[i]
      var deadline = Date.parse(el.getAttribute('data-deadline'))
      if (isNaN(deadline)) continue
      var left = deadline - now
      var overdue = left <= 0
      var text = overdue ? 'Overdue by ' + durationWords(left) : durationWords(left) + ' left'
      if (el.textContent !== text) el.textContent = text
      el.classList.toggle('app-countdown--overdue', overdue)
    }
  }

  update()
  window.setInterval(update, 1000)
})()
