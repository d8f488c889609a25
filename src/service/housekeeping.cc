#include "service/housekeeping.h"

namespace stepup::service {

namespace {
template <class Purge>
int purge_table(Purge purge, int batch, int max_batches) {
  int total = 0;
  for (int i = 0; i < max_batches; ++i) {
    auto n = purge(batch);
    if (!n) break;
    total += *n;
    if (*n < batch) break;  // caught up
  }
  return total;
}
}  // namespace

PurgeCounts purge_expired_challenges(store::Store& store, core::UnixTime now, int batch,
                                     int max_batches) {
  const core::UnixTime cutoff = now - store::kExpiredChallengeGrace;
  PurgeCounts out;
  out.challenges =
      purge_table([&](int n) { return store.purge_challenges(cutoff, n); }, batch, max_batches);
  out.login_challenges = purge_table([&](int n) { return store.purge_login_challenges(cutoff, n); },
                                     batch, max_batches);
  return out;
}

Housekeeping::Housekeeping(store::Store& store, const Clock& clock, HousekeepingOptions options)
    : store_(store), clock_(clock), options_(options), thread_([this] { loop(); }) {}

Housekeeping::~Housekeeping() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Housekeeping::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    lock.unlock();
    (void)purge_expired_challenges(store_, clock_.now(), options_.batch, options_.max_batches);
    lock.lock();
    if (cv_.wait_for(lock, options_.interval, [&] { return stop_; })) return;
  }
}

}  // namespace stepup::service
