// libFuzzer target: the YAML config loader. config::parse_config must turn
// any text into either a Config or a ConfigError ("FILE:LINE: ..."); anything
// else escaping (a yaml-cpp exception, std::out_of_range, ...) is a bug, so it
// is not caught here and libFuzzer reports it as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Config files are small; very large inputs only slow the fuzzer down.
  if (size > 16 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    stepup::config::Config c = stepup::config::parse_config(text, "fuzz.yaml");
    (void)c;
  } catch (const stepup::config::ConfigError& e) {
    // The report must name the source, as every error line does.
    if (std::string(e.what()).find("fuzz.yaml") == std::string::npos) std::abort();
  }
  return 0;
}
