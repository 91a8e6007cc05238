#pragma once
// The Markdown tables the experiment binaries print: columns padded to their widest cell,
// counting displayed characters (UTF-8 code points, so "±" and "‖" count once).
#include <cstddef>
#include <string>
#include <vector>

namespace vigap {

/// Displayed characters of UTF-8 text: the bytes that do not continue a code point.
std::size_t displayed_width(const std::string& text);

/// `text` followed by spaces up to `width` displayed characters (unchanged when already wider).
std::string pad(const std::string& text, std::size_t width);

/// "| h1 | h2 |\n|----|----|\n| a | b |\n...": every column as wide as its widest cell (at least 3).
/// Rows shorter than the header leave their last cells empty; longer rows are an error
/// (std::invalid_argument naming the row).
std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

/// Writes markdown_table(header, rows) to stdout.
void print_markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

}  // namespace vigap
