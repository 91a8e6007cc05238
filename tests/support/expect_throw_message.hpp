#pragma once
// A GoogleTest helper: checks that a call throws a given exception type whose message
// contains every given fragment.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace vigap::testing {

template <typename Exception, typename Function>
void expect_throw_message(Function&& function, std::initializer_list<std::string> fragments) {
  try {
    function();
    ADD_FAILURE() << "expected an exception, none was thrown";
  } catch (const Exception& e) {
    const std::string message = e.what();
    for (const std::string& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "message \"" << message << "\" lacks \"" << fragment << "\"";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected another exception type, caught: " << e.what();
  }
}

}  // namespace vigap::testing
