// The one translation unit that holds the compiled parts of Boost.URL.
#include <boost/url/src.hpp>
