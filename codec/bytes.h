#pragma once
// Byte helpers shared by the codec: big-endian loads/stores, a reusable output buffer and a
// small vector with inline storage (so decoding a typical PDU never touches the heap).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace smppgw::codec {

using Bytes = std::span<const uint8_t>;

inline uint16_t load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline Bytes asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view asString(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Growable byte buffer for encoding and stream reassembly. clear() keeps the capacity, so a
// buffer reused per connection stops allocating once it has reached its working size. Unlike
// std::vector<uint8_t>, growing does not zero-fill.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t capacity) { reserve(capacity); }
  Buffer(const Buffer& other) { append(other.data(), other.size()); }
  Buffer& operator=(const Buffer& other) {
    if (this != &other) {
      clear();
      append(other.data(), other.size());
    }
    return *this;
  }
  Buffer(Buffer&& other) noexcept
      : data_(std::move(other.data_)), size_(other.size_), capacity_(other.capacity_) {
    other.size_ = other.capacity_ = 0;
  }
  Buffer& operator=(Buffer&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.size_ = other.capacity_ = 0;
    return *this;
  }

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  Bytes view() const { return {data_.get(), size_}; }
  std::span<uint8_t> mutableView() { return {data_.get(), size_}; }

  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > capacity_) {
      realloc(n);
    }
  }
  // Releases the storage (idle connections should not hold buffers).
  void release() {
    data_.reset();
    size_ = capacity_ = 0;
  }

  // Returns a pointer to n new bytes at the end (uninitialised); size grows by n.
  uint8_t* grow(size_t n) {
    if (size_ + n > capacity_) {
      realloc(std::max(size_ + n, capacity_ * 2 < 64 ? size_t{64} : capacity_ * 2));
    }
    uint8_t* p = data_.get() + size_;
    size_ += n;
    return p;
  }
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  void append(const void* p, size_t n) {
    if (n != 0) {
      std::memcpy(grow(n), p, n);
    }
  }
  void append(Bytes b) { append(b.data(), b.size()); }
  void push(uint8_t v) { *grow(1) = v; }
  void put16(uint16_t v) { store16(grow(2), v); }
  void put32(uint32_t v) { store32(grow(4), v); }
  // Drops the first n bytes, moving the rest to the front.
  void consume(size_t n) {
    if (n >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_.get(), data_.get() + n, size_ - n);
    size_ -= n;
  }

 private:
  void realloc(size_t n) {
    auto fresh = std::make_unique_for_overwrite<uint8_t[]>(n);
    if (size_ != 0) {
      std::memcpy(fresh.get(), data_.get(), size_);
    }
    data_ = std::move(fresh);
    capacity_ = n;
  }

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Vector of trivially copyable items with N of them stored inline; it spills to the heap only
// past N. Keeps decode allocation-free for the common PDU shapes.
template <class T, size_t N>
class SmallVec {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  SmallVec() = default;
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() {
    size_ = 0;
    heap_.clear();
  }
  const T* data() const { return size_ <= N && heap_.empty() ? inline_.data() : heap_.data(); }
  T* data() { return size_ <= N && heap_.empty() ? inline_.data() : heap_.data(); }
  const T& operator[](size_t i) const { return data()[i]; }
  T& operator[](size_t i) { return data()[i]; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T& back() const { return data()[size_ - 1]; }

  void push_back(const T& v) {
    if (heap_.empty()) {
      if (size_ < N) {
        inline_[size_++] = v;
        return;
      }
      heap_.assign(inline_.begin(), inline_.begin() + static_cast<std::ptrdiff_t>(size_));
    }
    heap_.push_back(v);
    ++size_;
  }
  void erase(size_t i) {
    T* d = data();
    std::memmove(d + i, d + i + 1, (size_ - i - 1) * sizeof(T));
    --size_;
    if (!heap_.empty()) {
      heap_.pop_back();
    }
  }

  friend bool operator==(const SmallVec& a, const SmallVec& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::array<T, N> inline_{};
  std::vector<T> heap_;
  size_t size_ = 0;
};

}  // namespace smppgw::codec
