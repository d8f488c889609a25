// Housekeeping: deletes expired challenges (step-up, WebAuthn registration
// and passkey sign-in) so the store does not grow with every challenge ever
// asked for.
//
// Each insert already deletes a few expired rows (store::kPurgeOnInsert); this
// catches up when nobody inserts. purge_once() is one bounded pass: at most
// max_batches transactions of at most `batch` rows per table, each a delete
// through the expires_at index, so a huge backlog never holds the write lock
// for long (the next pass goes on). A Housekeeping object runs purge_once on
// its own thread every `interval` until it is destroyed. Thread-safe; the
// store and clock must outlive it.
#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "service/clock.h"
#include "store/store.h"

namespace stepup::service {

struct PurgeCounts {
  int challenges = 0;
  int login_challenges = 0;
};

struct HousekeepingOptions {
  std::chrono::milliseconds interval{60'000};
  int batch = 500;
  int max_batches = 20;
};

// One pass at time `now`: deletes rows that expired before
// now - store::kExpiredChallengeGrace. Store errors end the pass early (the
// next one retries).
PurgeCounts purge_expired_challenges(store::Store& store, core::UnixTime now, int batch,
                                     int max_batches);

class Housekeeping {
 public:
  Housekeeping(store::Store& store, const Clock& clock, HousekeepingOptions options = {});
  ~Housekeeping();  // stops the thread (waits for a pass in progress)
  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

 private:
  void loop();

  store::Store& store_;
  const Clock& clock_;
  HousekeepingOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace stepup::service
