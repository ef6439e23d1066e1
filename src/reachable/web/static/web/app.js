// Start GOV.UK Frontend, and again for content htmx swaps in (so a returned error summary
// takes focus, as it does on a full page load).
import { initAll, ErrorSummary } from '../govuk/govuk-frontend.min.js'

initAll()

document.body.addEventListener('htmx:afterSwap', function () {
  const fresh = document.querySelectorAll(
    '[data-module="govuk-error-summary"]:not([data-govuk-error-summary-init])'
  )
  fresh.forEach(function ($root) { new ErrorSummary($root) }) // eslint-disable-line no-new
})

// A form returned with errors by htmx: say so in the page title too, as a full page load would.
document.body.addEventListener('htmx:afterSwap', function () {
  if (document.querySelector('.govuk-error-summary') && !document.title.startsWith('Error: ')) {
    document.title = 'Error: ' + document.title
  }
})
