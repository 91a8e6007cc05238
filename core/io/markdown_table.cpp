#include "core/io/markdown_table.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace vigap {

std::size_t displayed_width(const std::string& text) {
  std::size_t width = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  return width;
}

std::string pad(const std::string& text, std::size_t width) {
  const std::size_t shown = displayed_width(text);
  return shown >= width ? text : text + std::string(width - shown, ' ');
}

std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size(), 3);
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = std::max(widths[i], displayed_width(header[i]));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() > header.size())
      throw std::invalid_argument("markdown_table: row " + std::to_string(r) + " has " +
                                  std::to_string(rows[r].size()) + " cells, the header " +
                                  std::to_string(header.size()));
    for (std::size_t i = 0; i < rows[r].size(); ++i) widths[i] = std::max(widths[i], displayed_width(rows[r][i]));
  }
  std::string table;
  const auto add_row = [&](const std::vector<std::string>& cells) {
    table += "|";
    for (std::size_t i = 0; i < widths.size(); ++i)
      table += " " + pad(i < cells.size() ? cells[i] : std::string(), widths[i]) + " |";
    table += "\n";
  };
  add_row(header);
  table += "|";
  for (const std::size_t w : widths) table += std::string(w + 2, '-') + "|";
  table += "\n";
  for (const auto& row : rows) add_row(row);
  return table;
}

void print_markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::fputs(markdown_table(header, rows).c_str(), stdout);
}

}  // namespace vigap
