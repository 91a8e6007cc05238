#include "experiments/support/svg_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace vigap::svg {

namespace {

// Pixel coordinates with two decimals: enough for any screen, short files.
std::string num(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string s = buffer;
  // Trim "12.50" -> "12.5", "12.00" -> "12".
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string dash_attribute(const std::string& dash) {
  return dash.empty() ? std::string() : " stroke-dasharray=\"" + dash + "\"";
}

}  // namespace

std::string Color::hex() const {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", r, g, b);
  return buffer;
}

Color heat_color(double t) {
  // Viridis sampled at 9 points, linearly interpolated.
  static constexpr std::array<std::array<double, 3>, 9> kStops{{{68, 1, 84},
                                                                  {71, 44, 122},
                                                                  {59, 81, 139},
                                                                  {44, 113, 142},
                                                                  {33, 144, 141},
                                                                  {39, 173, 129},
                                                                  {92, 200, 99},
                                                                  {170, 220, 50},
                                                                  {253, 231, 37}}};
  if (!std::isfinite(t)) t = 0.0;
  t = std::clamp(t, 0.0, 1.0) * (kStops.size() - 1);
  const std::size_t i = std::min(static_cast<std::size_t>(t), kStops.size() - 2);
  const double f = t - static_cast<double>(i);
  Color c;
  c.r = static_cast<std::uint8_t>(std::lround(kStops[i][0] + f * (kStops[i + 1][0] - kStops[i][0])));
  c.g = static_cast<std::uint8_t>(std::lround(kStops[i][1] + f * (kStops[i + 1][1] - kStops[i][1])));
  c.b = static_cast<std::uint8_t>(std::lround(kStops[i][2] + f * (kStops[i + 1][2] - kStops[i][2])));
  return c;
}

std::string escape_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

Document::Document(double width, double height) : width_(width), height_(height) {
  if (!(width > 0) || !(height > 0)) throw std::invalid_argument("svg::Document: width and height must be > 0");
}

void Document::rect(double x, double y, double width, double height, const std::string& fill,
                    const std::string& stroke, double stroke_width) {
  body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(width) + "\" height=\"" + num(height) +
           "\" fill=\"" + fill + "\"";
  if (stroke_width > 0) body_ += " stroke=\"" + stroke + "\" stroke-width=\"" + num(stroke_width) + "\"";
  body_ += "/>\n";
}

void Document::line(double x1, double y1, double x2, double y2, const std::string& stroke, double stroke_width,
                    const std::string& dash) {
  body_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
           "\" stroke=\"" + stroke + "\" stroke-width=\"" + num(stroke_width) + "\"" + dash_attribute(dash) + "/>\n";
}

void Document::circle(double cx, double cy, double radius, const std::string& fill, double opacity) {
  body_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(radius) + "\" fill=\"" + fill + "\"";
  if (opacity < 1.0) body_ += " fill-opacity=\"" + num(opacity) + "\"";
  body_ += "/>\n";
}

void Document::polyline(const std::vector<std::pair<double, double>>& points, const std::string& stroke,
                        double stroke_width, bool closed, const std::string& dash) {
  if (points.empty()) return;
  body_ += closed ? "<polygon points=\"" : "<polyline points=\"";
  for (const auto& [x, y] : points) body_ += num(x) + "," + num(y) + " ";
  body_ += "\" fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"" + num(stroke_width) +
           "\" stroke-linejoin=\"round\"" + dash_attribute(dash) + "/>\n";
}

void Document::text(double x, double y, const std::string& content, double font_size, const std::string& anchor,
                    double rotate, const std::string& fill, const std::string& weight) {
  body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"" +
           num(font_size) + "\" text-anchor=\"" + anchor + "\" fill=\"" + fill + "\"";
  if (weight != "normal") body_ += " font-weight=\"" + weight + "\"";
  if (rotate != 0.0) body_ += " transform=\"rotate(" + num(rotate) + " " + num(x) + " " + num(y) + ")\"";
  body_ += ">" + escape_text(content) + "</text>\n";
}

void Document::begin_clip(double x, double y, double width, double height) {
  const std::string id = "clip" + std::to_string(clip_count_++);
  body_ += "<clipPath id=\"" + id + "\"><rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(width) +
           "\" height=\"" + num(height) + "\"/></clipPath>\n<g clip-path=\"url(#" + id + ")\">\n";
}

void Document::end_clip() { body_ += "</g>\n"; }

void Document::raw(const std::string& markup) { body_ += markup; }

std::string Document::str() const {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width_) + "\" height=\"" + num(height_) +
         "\" viewBox=\"0 0 " + num(width_) + " " + num(height_) + "\">\n<rect x=\"0\" y=\"0\" width=\"" + num(width_) +
         "\" height=\"" + num(height_) + "\" fill=\"#ffffff\"/>\n" + body_ + "</svg>\n";
}

std::vector<double> nice_ticks(double low, double high, int target) {
  std::vector<double> ticks;
  if (!(high > low) || !std::isfinite(low) || !std::isfinite(high) || target < 1) return ticks;
  const double raw_step = (high - low) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw_step) break;
  }
  for (double t = std::ceil(low / step) * step; t <= high + 1e-9 * step; t += step)
    ticks.push_back(std::abs(t) < 1e-9 * step ? 0.0 : t);
  return ticks;
}

std::string format_tick(double value, double step) {
  const int decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", std::clamp(decimals, 0, 6), value);
  std::string s = buffer;
  if (s.find_first_not_of("-0.") == std::string::npos) s = "0";
  return s;
}

void draw_axes(Document& document, const Frame& frame, const std::string& x_label, const std::string& y_label,
               int target_ticks) {
  document.rect(frame.left, frame.top, frame.width, frame.height, "none", "#333333", 1.0);
  const std::vector<double> xt = nice_ticks(frame.x_min, frame.x_max, target_ticks);
  const std::vector<double> yt = nice_ticks(frame.y_min, frame.y_max, target_ticks);
  const double x_step = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  const double y_step = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
  const double bottom = frame.top + frame.height;
  for (double t : xt) {
    const double x = frame.px(t);
    document.line(x, bottom, x, bottom + 5, "#333333", 1.0);
    document.text(x, bottom + 17, format_tick(t, x_step), 11, "middle");
  }
  for (double t : yt) {
    const double y = frame.py(t);
    document.line(frame.left - 5, y, frame.left, y, "#333333", 1.0);
    document.text(frame.left - 8, y + 4, format_tick(t, y_step), 11, "end");
  }
  document.text(frame.left + frame.width / 2, bottom + 34, x_label, 13, "middle", 0.0, "#000000", "italic");
  const double ly = frame.top + frame.height / 2;
  document.text(frame.left - 42, ly, y_label, 13, "middle", -90.0, "#000000", "italic");
}

void draw_heat_map(Document& document, const Frame& frame, const VectorD& x_nodes, const VectorD& y_nodes,
                   const MatrixD& values, double skip_below) {
  if (values.rows() != x_nodes.size() || values.cols() != y_nodes.size())
    throw std::invalid_argument("svg::draw_heat_map: values must be x_nodes.size() x y_nodes.size()");
  if (x_nodes.size() < 2 || y_nodes.size() < 2) return;
  const double max = values.maxCoeff();
  if (!(max > 0) || !std::isfinite(max)) return;
  const double hx = (x_nodes(1) - x_nodes(0)) / 2, hy = (y_nodes(1) - y_nodes(0)) / 2;
  for (Index j = 0; j < y_nodes.size(); ++j) {
    for (Index i = 0; i < x_nodes.size(); ++i) {
      const double t = values(i, j) / max;
      if (!(t >= skip_below)) continue;
      const double x0 = frame.px(x_nodes(i) - hx), x1 = frame.px(x_nodes(i) + hx);
      const double y0 = frame.py(y_nodes(j) + hy), y1 = frame.py(y_nodes(j) - hy);
      // Cells overlap by a hair so that anti-aliasing leaves no seams.
      document.rect(x0, y0, x1 - x0 + 0.3, y1 - y0 + 0.3, heat_color(t).hex());
    }
  }
}

std::vector<std::pair<double, double>> gaussian_ellipse(double mean_x, double mean_y, const MatrixD& covariance,
                                                         double radius, int segments) {
  if (covariance.rows() != 2 || covariance.cols() != 2)
    throw std::invalid_argument("svg::gaussian_ellipse: covariance must be 2 x 2");
  const Eigen::LLT<MatrixD> llt(covariance);
  if (llt.info() != Eigen::Success)
    throw std::invalid_argument("svg::gaussian_ellipse: covariance is not positive definite");
  const MatrixD L = llt.matrixL();
  std::vector<std::pair<double, double>> points;
  points.reserve(static_cast<std::size_t>(segments));
  for (int k = 0; k < segments; ++k) {
    const double angle = 2.0 * M_PI * k / segments;
    const double u = radius * std::cos(angle), v = radius * std::sin(angle);
    points.emplace_back(mean_x + L(0, 0) * u, mean_y + L(1, 0) * u + L(1, 1) * v);
  }
  return points;
}

std::vector<std::pair<double, double>> to_pixels(const Frame& frame,
                                                 const std::vector<std::pair<double, double>>& points) {
  std::vector<std::pair<double, double>> out;
  out.reserve(points.size());
  for (const auto& [x, y] : points) out.emplace_back(frame.px(x), frame.py(y));
  return out;
}

void draw_grayscale_image(Document& document, double x, double y, const VectorF& pixels, Index rows, Index cols,
                          double pixel) {
  if (pixels.size() != rows * cols)
    throw std::invalid_argument("svg::draw_grayscale_image: expected rows x cols pixels");
  document.rect(x, y, cols * pixel, rows * pixel, "#ffffff", "#333333", 1.0);
  for (Index r = 0; r < rows; ++r) {
    for (Index c = 0; c < cols; ++c) {
      const double value = std::clamp(static_cast<double>(pixels(r * cols + c)), 0.0, 1.0);
      if (value <= 0.0) continue;
      const auto level = static_cast<std::uint8_t>(std::lround(255.0 * (1.0 - value)));
      document.rect(x + c * pixel, y + r * pixel, pixel + 0.2, pixel + 0.2, Color{level, level, level}.hex());
    }
  }
}

void draw_legend_entry(Document& document, double x, double y, const std::string& color, const std::string& dash,
                       const std::string& label, bool dot) {
  if (dot)
    document.circle(x + 11, y - 4, 2.5, color);
  else
    document.line(x, y - 4, x + 22, y - 4, color, 2.0, dash);
  document.text(x + 28, y, label, 11);
}

}  // namespace vigap::svg
