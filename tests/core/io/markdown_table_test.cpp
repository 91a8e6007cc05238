#include "core/io/markdown_table.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace vigap {
namespace {

TEST(MarkdownTable, PadsColumnsToTheWidestCellCountingCodePoints) {
  EXPECT_EQ(displayed_width("1.0 ± 0.1"), 9u);
  EXPECT_EQ(pad("±", 3), "±  ");
  EXPECT_EQ(pad("wider", 2), "wider");
  const std::string table = markdown_table({"K", "IWAE"}, {{"1", "-86.7 ± 0.1"}, {"5000"}});
  EXPECT_EQ(table,
            "| K    | IWAE        |\n"
            "|------|-------------|\n"
            "| 1    | -86.7 ± 0.1 |\n"
            "| 5000 |             |\n");
}

TEST(MarkdownTable, RejectsRowsWiderThanTheHeader) {
  EXPECT_THROW(markdown_table({"a"}, {{"1", "2"}}), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
