// The status page served on `/` of --metrics-listen: one self-contained HTML document
// (inline style and script; no external asset, font or CDN) that reads /api/status and
// /api/accounts every 2 s and shows the job summary, a progress bar, rates and ETA, a
// sortable table of the accounts (state, worker, folder, counts, last error) and the
// workers. It only reads; every value from the job is inserted as text, never as markup.
//
// Stable hooks for scripts and tests: #job-id, #job-state, #progress-bar (data-value: the
// fraction done), #accounts-{total,pending,running,succeeded,failed,cancelled},
// #messages-done, #messages-total, #bytes-done, #bytes-total (data-value: the exact number),
// #eta, #workers-connected; one <tr data-email=... data-state=...> per account in
// #accounts-table, whose number cells carry data-value; one <tr data-worker=...> per worker
// in #workers-table.
#ifndef MIGRATOR_COORDINATOR_FRONTENDS_HTTP_STATUS_PAGE_H_
#define MIGRATOR_COORDINATOR_FRONTENDS_HTTP_STATUS_PAGE_H_

#include <string>

namespace coordinator {

const std::string& StatusPageHtml();

}  // namespace coordinator

#endif  // MIGRATOR_COORDINATOR_FRONTENDS_HTTP_STATUS_PAGE_H_
