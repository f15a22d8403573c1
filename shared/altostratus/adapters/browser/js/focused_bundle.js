() => {
  //@bundle
  return __bundleOf(__focused());
}
