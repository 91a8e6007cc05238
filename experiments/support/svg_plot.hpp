#pragma once
// Hand-written SVG drawing for the pictures of the experiments (no plotting dependency): a
// document of primitives, a data-to-pixel frame with axes and ticks, a heat map, Gaussian
// ellipses and a grayscale raster.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace vigap::svg {

/// An sRGB color.
struct Color {
  std::uint8_t r = 0, g = 0, b = 0;
  /// "#rrggbb".
  std::string hex() const;
};

/// The viridis-like color of t in [0, 1] (clamped): dark purple at 0, yellow at 1.
Color heat_color(double t);

/// Escapes &, <, >, " and ' for SVG text and attribute values.
std::string escape_text(const std::string& text);

/// An SVG document of fixed pixel size, built primitive by primitive; str() closes it.
class Document {
 public:
  Document(double width, double height);

  double width() const { return width_; }
  double height() const { return height_; }

  /// A filled rectangle (no stroke unless stroke_width > 0).
  void rect(double x, double y, double width, double height, const std::string& fill,
            const std::string& stroke = "none", double stroke_width = 0.0);
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double stroke_width = 1.0,
            const std::string& dash = "");
  void circle(double cx, double cy, double radius, const std::string& fill, double opacity = 1.0);
  /// A polyline through `points` (closed: a polygon without fill).
  void polyline(const std::vector<std::pair<double, double>>& points, const std::string& stroke, double stroke_width,
                bool closed, const std::string& dash = "");
  /// Text at (x, y); anchor is "start", "middle" or "end"; rotate in degrees about (x, y).
  void text(double x, double y, const std::string& content, double font_size = 12.0,
            const std::string& anchor = "start", double rotate = 0.0, const std::string& fill = "#000000",
            const std::string& weight = "normal");
  /// Starts / ends a group clipped to the rectangle (nested content is cut at its edges).
  void begin_clip(double x, double y, double width, double height);
  void end_clip();
  /// Raw SVG markup appended as is.
  void raw(const std::string& markup);

  /// The complete document, "<svg ...> ... </svg>\n".
  std::string str() const;

 private:
  double width_, height_;
  std::string body_;
  int clip_count_ = 0;
};

/// Maps data coordinates (x right, y up) to the pixel rectangle [left, left+width] x [top, top+height].
struct Frame {
  double left = 0, top = 0, width = 0, height = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;

  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * width; }
  double py(double y) const { return top + (y_max - y) / (y_max - y_min) * height; }
  bool contains(double x, double y) const { return x >= x_min && x <= x_max && y >= y_min && y <= y_max; }
};

/// The frame of the pixel rectangle (left, top, width, height) showing [x_min, x_max] x [y_min, y_max].
inline Frame make_frame(double left, double top, double width, double height, double x_min, double x_max,
                        double y_min = 0.0, double y_max = 1.0) {
  Frame f;
  f.left = left;
  f.top = top;
  f.width = width;
  f.height = height;
  f.x_min = x_min;
  f.x_max = x_max;
  f.y_min = y_min;
  f.y_max = y_max;
  return f;
}

/// "Nice" tick values (steps 1, 2 or 5 x 10^k) inside [low, high], about `target` of them.
std::vector<double> nice_ticks(double low, double high, int target = 5);

/// A tick value printed compactly for the step of its ticks (e.g. "-1.5", "0", "2").
std::string format_tick(double value, double step);

/// A box around the frame, ticks with values on the bottom and left edges, axis labels.
void draw_axes(Document& document, const Frame& frame, const std::string& x_label, const std::string& y_label,
               int target_ticks = 5);

/// Filled cells of a heat map: values is nx x ny on the nodes x_nodes (nx) and y_nodes (ny), equally
/// spaced; node (i, j) is drawn as the cell of width/height one spacing centered on it, colored
/// heat_color(values(i, j) / max). Cells below `skip_below` x max are not drawn (background shows).
void draw_heat_map(Document& document, const Frame& frame, const VectorD& x_nodes, const VectorD& y_nodes,
                   const MatrixD& values, double skip_below = 0.0);

/// The ellipse {z : (z - mean)ᵀ covariance⁻¹ (z - mean) = radius²} of a 2-D Gaussian as
/// `segments` points (data coordinates; covariance 2 x 2 symmetric positive definite).
std::vector<std::pair<double, double>> gaussian_ellipse(double mean_x, double mean_y, const MatrixD& covariance,
                                                         double radius, int segments = 96);

/// The points of a data-coordinate curve mapped to pixels.
std::vector<std::pair<double, double>> to_pixels(const Frame& frame,
                                                 const std::vector<std::pair<double, double>>& points);

/// A grayscale image (pixels row by row, values in [0, 1], 1 drawn black like ink) as rectangles
/// of side `pixel` with its top-left corner at (x, y), with a thin border.
void draw_grayscale_image(Document& document, double x, double y, const VectorF& pixels, Index rows, Index cols,
                          double pixel);

/// One legend entry: a short line (or a dot when `dot`) of the given color and dash, then the label.
void draw_legend_entry(Document& document, double x, double y, const std::string& color, const std::string& dash,
                       const std::string& label, bool dot = false);

}  // namespace vigap::svg
