// config::provable_methods() is a list kept by hand in the config layer (which
// cannot see the factors); this checks it against what the factor code really
// records, so `stepup config check` never calls a provable method unprovable.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "config/config_warnings.h"
#include "factors/webauthn.h"
#include "service/factor_check.h"

namespace stepup::service {
namespace {

TEST(ConfigWarningsSync, ProvableMethodsAreExactlyWhatFactorsRecord) {
  std::set<std::string> recorded{"pwd"};  // password sign-in (service/signin.cc)
  for (std::string_view type : {kFactorTotp, kFactorRecovery, kFactorWebAuthn}) {
    recorded.insert(std::string(method_of_factor_type(type)));
  }
  for (bool uv : {false, true}) {
    for (bool be : {false, true}) {
      for (const auto& m : factors::webauthn::methods_for(uv, be)) recorded.insert(m);
    }
  }
  std::set<std::string> listed;
  for (auto m : config::provable_methods()) listed.insert(std::string(m));
  EXPECT_EQ(listed, recorded);
}

}  // namespace
}  // namespace stepup::service
