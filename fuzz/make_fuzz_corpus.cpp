// Writes the seed corpora of the reader harnesses in fuzz/ (scripts/make_fuzz_corpus.sh runs it):
//   make_fuzz_corpus <directory>   ->  <directory>/<harness>/<seed>
// Seeds are small valid inputs written by vigap's own writers (and a few near misses), so that
// the fuzzer starts from the formats' structure; nothing here is committed as a binary.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "core/io/vae_checkpoint.hpp"

namespace {

namespace fs = std::filesystem;
using namespace vigap;

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("make_fuzz_corpus: cannot write " + path.string());
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// `bytes` as one gzip member.
std::string gzip(const std::string& bytes) {
  uLongf size = compressBound(static_cast<uLong>(bytes.size())) + 32;
  std::string out(size, '\0');
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("make_fuzz_corpus: deflate failed");
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string idx(std::uint32_t magic, const std::vector<std::uint32_t>& dims, std::size_t data_bytes) {
  std::string bytes;
  auto put = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((v >> shift) & 0xffu));
  };
  put(magic);
  for (std::uint32_t d : dims) put(d);
  for (std::size_t i = 0; i < data_bytes; ++i) bytes.push_back(static_cast<char>((i * 37) & 0xff));
  return bytes;
}

void safetensors_seeds(const fs::path& dir) {
  SafetensorsFile file;
  write(dir / "empty", serialize_safetensors(file));
  file.metadata["format"] = "example";
  file.tensors["a"] = Tensor{{2, 3}, {1, 2, 3, 4, 5, 6}};
  file.tensors["b"] = Tensor{{}, {0.5f}};
  file.tensors["c"] = Tensor{{0, 4}, {}};
  write(dir / "three-tensors", serialize_safetensors(file));
  write(dir / "bad-dtype", std::string("\x28\0\0\0\0\0\0\0", 8) + R"({"x":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})" + "\x01\x02");
}

void vae_checkpoint_seeds(const fs::path& dir, const fs::path& scratch) {
  VaeArchitecture plain;
  plain.data_dim = 4;
  plain.latent_dim = 2;
  plain.encoder_hidden = {3};
  plain.decoder_hidden = {3};
  VaeArchitecture flow = plain;
  flow.flow_layers = 2;
  flow.flow_hidden = {2};
  VaeArchitecture decoder_only = plain;
  decoder_only.has_encoder = false;
  decoder_only.encoder_hidden = {};
  decoder_only.likelihood = Likelihood::gaussian;
  decoder_only.activation = Activation::elu;
  int n = 0;
  for (const VaeArchitecture& a : {plain, flow, decoder_only}) {
    Vae vae(a);
    vae.metadata["dataset"] = "fashion-mnist";
    const fs::path path = scratch / ("checkpoint-" + std::to_string(n) + ".safetensors");
    save_vae_checkpoint(path.string(), vae);
    write(dir / ("checkpoint-" + std::to_string(n)), std::string(1, '\0') + read(path));
    write(dir / ("architecture-" + std::to_string(n)), std::string(1, '\1') + a.to_json().dump());
    ++n;
  }
}

void idx_seeds(const fs::path& dir) {
  const std::string images = idx(0x803, {2, 3, 4}, 24), labels = idx(0x801, {5}, 5);
  // Mode byte: bit 0 labels, bit 1 compressed by the harness.
  write(dir / "images-raw", std::string(1, '\0') + images);
  write(dir / "labels-raw", std::string(1, '\1') + labels);
  write(dir / "images-to-gzip", std::string(1, '\2') + images);
  write(dir / "labels-to-gzip", std::string(1, '\3') + labels);
  write(dir / "images-gzip", std::string(1, '\0') + gzip(images));
  write(dir / "labels-gzip", std::string(1, '\1') + gzip(labels));
  write(dir / "labels-gzip-two-members", std::string(1, '\1') + gzip(labels.substr(0, 6)) + gzip(labels.substr(6)));
  write(dir / "images-truncated", std::string(1, '\0') + images.substr(0, 20));
}

void mnist_json_seeds(const fs::path& dir) {
  std::string data;
  for (int i = 0; i < 784; ++i) data += (i ? "," : "") + std::string(i % 7 == 0 ? "0.5" : i % 3 == 0 ? "1" : "0");
  write(dir / "one-image", "{\"data\":[" + data + "]}");
  write(dir / "two-images", "{\"data\":[" + data + "," + data + "]}");
  write(dir / "wrong-count", "{\"data\":[0,1,0.25]}");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_corpus <directory>\n");
    return 2;
  }
  const fs::path root = argv[1];
  const fs::path scratch = root / ".scratch";
  fs::create_directories(scratch);
  safetensors_seeds(root / "safetensors_fuzzer");
  vae_checkpoint_seeds(root / "vae_checkpoint_fuzzer", scratch);
  idx_seeds(root / "idx_reader_fuzzer");
  mnist_json_seeds(root / "mnist_json_fuzzer");
  fs::remove_all(scratch);
  return 0;
}
